#!/usr/bin/env python3
"""PyTorch's side of the checkpoint round trip (Tests/NeuralNetTests/CheckpointRoundTripTests.swift).

check SPEC.json CKPT INPUT.npy OUTPUT.npy
    Builds the PyTorch model SPEC describes (python/peers/torch_models.py), loads the
    MedCIL checkpoint with load_state_dict(strict=True), runs INPUT in eval mode and compares
    with OUTPUT (normwise relative 1e-4). Exit 0 when equal.
make SPEC.json CKPT INPUT.npy OUTPUT.npy
    Builds the model with seed 5, runs one training-mode forward (so BatchNorm statistics move),
    saves its state_dict as CKPT with safetensors, and writes the eval-mode output on INPUT.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "peers"))
import torch_models as M  # noqa: E402


def build(spec):
    kind = spec["kind"]
    if kind == "resnet18":
        return M.ResNet18(spec["in"], spec["classes"], width=spec["width"], stem=spec["stem"], dropout=0.0)
    if kind == "ccsi":
        return M.CCSINet(spec["in"], spec["classes"], norm=spec["norm"])
    if kind == "unet":
        return M.UNet(spec["in"], base=spec["base"], heads=tuple(spec["heads"]), dropout=0.0)
    if kind == "small_cnn":
        return M.SmallCNN(spec["in"], spec["classes"], widths=tuple(spec["widths"]), input_size=spec["input_size"])
    raise SystemExit(f"unknown model kind {kind}")


def run(model, spec, x):
    model.eval()
    with torch.no_grad():
        return model(x, head=spec.get("head", 0)) if spec["kind"] == "unet" else model(x)


def main():
    mode, spec_path, ckpt, input_path, output_path = sys.argv[1:6]
    spec = json.load(open(spec_path))
    model = build(spec)
    x = torch.from_numpy(np.load(input_path))
    if mode == "check":
        model.load_state_dict(load_file(ckpt), strict=True)
        ours = run(model, spec, x).numpy()
        theirs = np.load(output_path)
        scale = max(float(np.abs(ours).max()), 1e-6)
        error = float(np.abs(ours - theirs).max()) / scale
        print(f"normwise relative error {error:.2e}")
        sys.exit(0 if ours.shape == theirs.shape and error <= 1e-4 else 1)
    torch.manual_seed(5)
    model = build(spec)
    model.train()
    with torch.no_grad():
        model(x, head=spec.get("head", 0)) if spec["kind"] == "unet" else model(x)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, ckpt)
    np.save(output_path, run(model, spec, x).numpy())


if __name__ == "__main__":
    main()
