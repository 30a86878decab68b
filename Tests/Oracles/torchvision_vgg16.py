#!/usr/bin/env python3
"""Reference for MedCIL's VGG16 feature extractor and scripts/convert_vgg16.py.

torchvision cannot be installed next to this CPU build of torch, so its VGG16 is rebuilt here
in plain torch with the same module tree (features = Sequential of Conv2d(3x3, pad 1)+ReLU
with MaxPool2d(2) after each block; avgpool; classifier = Linear/ReLU/Dropout x2 + Linear), and
hence the same state-dict keys and initialisation (kaiming_normal fan_out for convs, N(0, 0.01)
for linears, zero biases, as torchvision's VGG.__init__). The classifier's hidden width is a
parameter (torchvision: 4096) so the test's state dict stays small: its keys are torchvision's,
and the converter drops the classifier anyway.

usage: torchvision_vgg16.py OUT_FOLDER SEED
Writes OUT_FOLDER/vgg16.pth (the random model's full state dict), runs convert_vgg16.py into
OUT_FOLDER/vgg16.safetensors and checks that it holds exactly the 26 feature tensors, equal to
the state dict's; writes OUT_FOLDER/input.npy [2, 3, 32, 32] and OUT_FOLDER/conv{b}_{k}.npy,
the post-ReLU output of every conv in eval mode.
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file

LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class VGG16(nn.Module):
    def __init__(self, classes=1000, hidden=4096):
        super().__init__()
        layers, cin = [], 3
        for v in LAYOUT:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(hidden, classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def conv_outputs(self, x):
        """Post-ReLU output of each conv, named conv{block}_{k}."""
        out, block, k = {}, 1, 0
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.ReLU):
                k += 1
                out[f"conv{block}_{k}"] = x.clone()
            elif isinstance(layer, nn.MaxPool2d):
                block, k = block + 1, 0
        return out


def main(folder, seed):
    torch.manual_seed(seed)
    model = VGG16(hidden=16).eval()
    # The random init has zero biases; give them values so that a dropped bias would show.
    with torch.no_grad():
        for name, p in model.features.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    state = model.state_dict()
    pth = os.path.join(folder, "vgg16.pth")
    torch.save(state, pth)
    converted = os.path.join(folder, "vgg16.safetensors")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "convert_vgg16.py")
    subprocess.run([sys.executable, script, pth, converted], check=True)
    tensors = load_file(converted)
    feature_keys = sorted(k for k in state if k.startswith("features."))
    assert sorted(tensors) == feature_keys and len(feature_keys) == 26, sorted(tensors)
    for key in feature_keys:
        assert torch.equal(tensors[key], state[key]), key
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(2, 3, 32, 32, generator=generator)
    np.save(os.path.join(folder, "input.npy"), x.numpy().astype(np.float32))
    with torch.no_grad():
        for name, value in model.conv_outputs(x).items():
            np.save(os.path.join(folder, name + ".npy"), value.numpy().astype(np.float32))
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
