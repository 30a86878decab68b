#!/usr/bin/env python3
"""The peer of `medcil bench train`: the identical nets (torch_models.py) with PyTorch on the CPU,
synthetic data, the same thread count.

  train_torch.py NET --mode train      full training steps (forward, cross-entropy, backward, SGD
                                       with momentum)
  train_torch.py NET --mode inference  model.eval() forward passes under torch.inference_mode(); for
                                       expert-112-nmd the reference work's feature export (Bransby et
                                       al. 2024): logits, pooled features and the spatial means of the
                                       17 main convolutions' outputs from forward hooks (NMD signatures)
  train_torch.py NET --memory          where one training step's memory goes: the process after
                                       `import torch`, parameters, gradients, momentum, the batch, the
                                       tensors autograd saves for backward (by grad_fn type), peak
  train_torch.py --shapes              every convolution call of each training net's forward pass,
                                       as MedCIL's ConvShape (the per-layer table compares these)
  train_torch.py --layers FILE         times forward, backward-data and backward-weight of each shape
                                       in FILE (a JSON list of ConvShape), median of --repeats;
                                       FILE "-": one shape per line on stdin, one result line each
                                       (`medcil bench train --layers` times each shape on both sides
                                       back to back this way)

Each mode prints one JSON line. Peak memory is VmHWM (as MedCIL reads it): ru_maxrss would
include the parent's peak at exec.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
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


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_mb():
    return status_kib("VmHWM:") / 1024


def main_convolutions(model):
    """The stem and both convolutions of every basic block (not the shortcuts): 17 in a ResNet-18."""
    convs = [model.conv1]
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:
            convs += [block.conv1, block.conv2]
    return convs


def synthetic(name):
    _, shape, batch, classes, per_pixel = NETS[name]
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch, *shape[1:]) if per_pixel else (batch,))
    return x, y


def measure(args):
    torch.manual_seed(0)
    build, _, batch, _, _ = NETS[args.net]
    model = build()
    x, y = synthetic(args.net)
    if args.mode == "train":
        if args.net in EXPORTS:
            sys.exit(f"{args.net} is measured in inference mode only")
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    else:
        model.eval()
        if args.net in EXPORTS:
            signatures = []
            for conv in main_convolutions(model):
                conv.register_forward_hook(lambda m, i, o: signatures.append(o.mean(dim=(2, 3))))

            def step():
                signatures.clear()
                with torch.inference_mode():
                    features = model.features(x)
                    logits = model.linear(model.dropout(features))
                    return logits, features, torch.cat(signatures, dim=1)
        else:
            def step():
                with torch.inference_mode():
                    return model(x)
    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    return {"net": args.net, "mode": args.mode, "images_per_second": batch / seconds, "seconds_per_step": seconds,
            "peak_rss_mb": peak_mb(), "torch": torch.__version__}


def saved_by_op(loss, exclude):
    """Bytes of the tensors the graph behind `loss` saves for backward, by grad_fn type, each
    storage once; `exclude` holds the storages not to count (parameters)."""
    seen_nodes, seen = set(), set(exclude)
    out = {}
    stack = [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen_nodes:
            continue
        seen_nodes.add(fn)
        for attribute in dir(fn):
            if not attribute.startswith("_saved_"):
                continue
            try:
                value = getattr(fn, attribute)
            except Exception:  # a saved value that cannot be unpacked (freed or not a tensor)
                continue
            for t in value if isinstance(value, (tuple, list)) else [value]:
                if not isinstance(t, torch.Tensor):
                    continue
                storage = t.untyped_storage()
                if storage.data_ptr() in seen:
                    continue
                seen.add(storage.data_ptr())
                name = type(fn).__name__
                out[name] = out.get(name, 0) + storage.nbytes()
        stack.extend(next_fn for next_fn, _ in fn.next_functions)
    return out


def memory(args):
    baseline = status_kib("VmRSS:") / 1024
    torch.manual_seed(0)
    model = NETS[args.net][0]()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = synthetic(args.net)
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    parameters = list(model.parameters())
    nbytes = lambda ts: sum(t.numel() * t.element_size() for t in ts)  # noqa: E731
    gradients = nbytes(p.grad for p in parameters)
    momentum = nbytes(s["momentum_buffer"] for s in optimizer.state.values() if "momentum_buffer" in s)
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    saved = saved_by_op(loss, {p.untyped_storage().data_ptr() for p in parameters} | {x.untyped_storage().data_ptr()})
    loss.backward()
    optimizer.step()
    return {"net": args.net, "import_baseline_mb": baseline, "parameter_bytes": nbytes(parameters), "gradient_bytes": gradients,
            "optimizer_bytes": momentum, "batch_bytes": x.numel() * x.element_size(), "saved": saved, "peak_rss_mb": peak_mb()}


def trace(name):
    """Every Conv2d / ConvTranspose2d call of one forward pass on one image (eval, no grad), with
    the net's batch written into each shape: MedCIL's ConvShape fields."""
    build, shape, batch, _, _ = NETS[name]
    model = build().eval()
    calls = []

    def hook(module, inputs, _):
        x = inputs[0]
        transposed = isinstance(module, nn.ConvTranspose2d)
        w = module.weight.shape
        assert module.stride[0] == module.stride[1] and module.padding[0] == module.padding[1]
        calls.append({"kind": "transposed" if transposed else "conv", "batch": batch,
                      "inChannels": w[0] if transposed else w[1], "outChannels": w[1] if transposed else w[0],
                      "kernel": w[2], "stride": module.stride[0], "padding": module.padding[0],
                      "height": x.shape[2], "width": x.shape[3]})

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    return calls


def median_seconds(run, warmup, repeats):
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def time_layer(shape, warmup, repeats):
    """Forward under inference_mode; backward-data and backward-weight as aten's
    convolution_backward with one output each (what autograd calls, without the graph)."""
    transposed = shape["kind"] == "transposed"
    n, cin, cout, k = shape["batch"], shape["inChannels"], shape["outChannels"], shape["kernel"]
    s, p = shape["stride"], shape["padding"]
    x = torch.randn(n, cin, shape["height"], shape["width"])
    w = torch.randn(*((cin, cout, k, k) if transposed else (cout, cin, k, k))) * 0.05
    conv = F.conv_transpose2d if transposed else F.conv2d
    with torch.inference_mode():
        y = conv(x, w, None, s, p)
    g = torch.randn_like(y)

    def forward():
        with torch.inference_mode():
            conv(x, w, None, s, p)

    def backward(mask):
        def run():
            with torch.no_grad():
                torch.ops.aten.convolution_backward(g, x, w, None, [s, s], [p, p], [1, 1], transposed, [0, 0], 1, mask)
        return run

    return {"shape": shape, "forward": median_seconds(forward, warmup, repeats),
            "backward_data": median_seconds(backward([True, False, False]), warmup, repeats),
            "backward_weight": median_seconds(backward([False, True, False]), warmup, repeats)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("net", nargs="?", choices=sorted(NETS))
    parser.add_argument("--mode", choices=("train", "inference"), default="train")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--shapes", action="store_true")
    parser.add_argument("--layers")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.shapes:
        result = {name: trace(name) for name in NETS if name not in EXPORTS}
    elif args.layers == "-":
        for line in sys.stdin:
            print(json.dumps(time_layer(json.loads(line), args.warmup, args.repeats)), flush=True)
        return
    elif args.layers:
        with open(args.layers) as f:
            shapes = json.load(f)
        result = [time_layer(shape, args.warmup, args.repeats) for shape in shapes]
    elif args.net is None:
        parser.error("NET is required unless --shapes or --layers")
    else:
        result = memory(args) if args.memory else measure(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
