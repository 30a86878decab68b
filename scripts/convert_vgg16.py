#!/usr/bin/env python3
"""Converts a torchvision VGG16 state dict (torchvision.models.vgg16().state_dict(), saved
with torch.save, e.g. the ImageNet weights file vgg16-397923af.pth) into the safetensors file
that MedCIL's CoRiSeg content distance loads (Sources/Segmentation/VGG16Features.swift).

Only the convolutional part is kept, under torchvision's own keys features.{i}.weight and
features.{i}.bias for the 13 convs (i = 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), as
float32; the classifier is dropped (the content distance uses conv features only). The
state dict is checked against VGG16's layout (configuration "D", no batch norm) first, and
the output is written atomically.

usage: convert_vgg16.py IN.pth OUT.safetensors
"""
import os
import sys

import torch
from safetensors.torch import save_file

# torchvision's cfgs["D"]: conv widths, "M" = max-pool.
LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def expected_shapes():
    """features.{i}.weight/bias -> shape, with torchvision's indices (each conv is followed by a ReLU)."""
    shapes, index, cin = {}, 0, 3
    for v in LAYOUT:
        if v == "M":
            index += 1
            continue
        shapes[f"features.{index}.weight"] = (v, cin, 3, 3)
        shapes[f"features.{index}.bias"] = (v,)
        index += 2
        cin = v
    return shapes


def convert(source, destination):
    state = torch.load(source, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise SystemExit(f"{source}: not a state dict (save model.state_dict(), not the model)")
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    out = {}
    for key, shape in expected_shapes().items():
        if key not in state:
            raise SystemExit(f"{source}: no {key}; is this a torchvision VGG16 (not VGG16-BN or VGG19) state dict?")
        tensor = state[key]
        if tuple(tensor.shape) != shape:
            raise SystemExit(f"{source}: {key} has shape {tuple(tensor.shape)}, VGG16 has {shape}")
        out[key] = tensor.detach().to(torch.float32).contiguous()
    extra = sorted(k for k in state if k.startswith("features.") and k not in out)
    if extra:
        raise SystemExit(f"{source}: unexpected feature keys {extra[:4]} (VGG16 without batch norm has none)")
    temporary = destination + ".tmp-convert"
    save_file(out, temporary, metadata={"architecture": "vgg16", "source": os.path.basename(source)})
    os.replace(temporary, destination)
    print(f"{destination}: {len(out)} tensors, {sum(t.numel() for t in out.values())} parameters")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2])
