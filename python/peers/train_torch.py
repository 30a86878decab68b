#!/usr/bin/env python3
"""The peer of `medcil bench train`: the identical nets (torch_models.py) trained with PyTorch on
the CPU, full steps (forward, cross-entropy, backward, SGD with momentum), synthetic data. The
reference work's expert (Bransby et al. 2024: ResNet-18, CIFAR stem, 1x112x112, batch 32) is
measured training ("expert-112") and exporting features in evaluation mode without gradients,
with forward hooks taking the spatial mean of the 17 main convolutions' outputs, the NMD
signatures ("expert-112-nmd").

usage: train_torch.py NET --threads T --steps N --warmup W
Prints one JSON line: {"net", "images_per_second", "seconds_per_step", "peak_rss_mb", "torch"}.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as M  # noqa: E402

NETS = {
    # name: (builder, input shape without batch, batch, classes, per-pixel)
    "small-cnn-64": (lambda: M.SmallCNN(1, 10, input_size=64), (1, 64, 64), 64, 10, False),
    "small-cnn-28": (lambda: M.SmallCNN(3, 10, input_size=28), (3, 28, 28), 64, 10, False),
    "resnet18-64": (lambda: M.ResNet18(1, 10, width=64, stem="imagenet", dropout=0.0), (1, 64, 64), 64, 10, False),
    "unet-128": (lambda: M.UNet(1, base=32, heads=(3,), dropout=0.5), (1, 128, 128), 8, 3, True),
    "expert-112": (lambda: M.ResNet18(1, 8, width=64, stem="cifar", dropout=0.1), (1, 112, 112), 32, 8, False),
    "expert-112-nmd": (lambda: M.ResNet18(1, 8, width=64, stem="cifar", dropout=0.1), (1, 112, 112), 32, 8, False),
}
EXPORTS = {"expert-112-nmd"}


def main_convolutions(model):
    """The stem and both convolutions of every basic block (not the shortcuts): 17 in a ResNet-18."""
    convs = [model.conv1]
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:
            convs += [block.conv1, block.conv2]
    return convs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("net", choices=sorted(NETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    build, shape, batch, classes, per_pixel = NETS[args.net]
    model = build()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch, *shape[1:]) if per_pixel else (batch,))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    signatures = []

    def export_step():
        signatures.clear()
        with torch.no_grad():
            features = model.features(x)
            logits = model.linear(model.dropout(features))
        return logits, features, torch.cat(signatures, dim=1)

    step = train_step
    if args.net in EXPORTS:
        model.eval()
        for conv in main_convolutions(model):
            conv.register_forward_hook(lambda m, i, o: signatures.append(o.mean(dim=(2, 3))))
        step = export_step

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"net": args.net, "images_per_second": batch / seconds, "seconds_per_step": seconds,
                      "peak_rss_mb": peak, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
