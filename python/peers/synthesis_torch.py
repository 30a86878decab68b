#!/usr/bin/env python3
"""PyTorch peer of `medcil bench synthesis`: the class-impression synthesis loop of CCSI
(methods.md 2.4) on the reference's small net (torch_models.CCSINet, Continual Normalization,
1x32x32 inputs, 4 classes) in evaluation mode, batch 40: roll jitter 30 and flip, CE + TV2 +
the normalisation-statistics regulariser (first layer x10) + L2, Adam on the pixels with the
warm-up + 0.2-cosine schedule, channel-0 clamp, best-loss batch kept. Prints one JSON line:
iterations_per_second, seconds, threads.

Usage: synthesis_torch.py --iterations N --warmup-iterations W --threads T
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as M  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup-iterations", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = M.CCSINet(1, 4, norm="cn")
    model.train()
    with torch.no_grad():
        model(torch.rand(40, 1, 32, 32))
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    terms = []

    def hook(module, inputs, output):
        x = inputs[0]
        if isinstance(module, M.ContinualNorm):
            x = F.group_norm(x, module.groups, eps=1e-5)
        mean = x.mean([0, 2, 3])
        var = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1).var(1, unbiased=False)
        terms.append(torch.norm(module.running_var - var, 2) + torch.norm(module.running_mean - mean, 2))

    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.register_forward_hook(hook)
    labels = torch.randint(0, 4, (40,))
    x = (torch.rand(40, 1, 32, 32) + torch.randn(40, 1, 32, 32) / 10).requires_grad_(True)
    total = a.iterations + a.warmup_iterations
    opt = torch.optim.Adam([x], lr=0.05, betas=(0.5, 0.9), eps=1e-8)
    best, best_loss = None, float("inf")
    start = None
    for i in range(total):
        if i == a.warmup_iterations:
            start = time.perf_counter()
        lr = 0.05 * (i + 1) / 100 if i < 100 else 0.2 * (1 + math.cos(math.pi * (i - 100) / (total - 100))) * 0.05
        for g in opt.param_groups:
            g["lr"] = lr
        d1, d2 = [int(v) for v in torch.randint(-30, 31, (2,))]
        xj = torch.roll(x, shifts=(d1, d2), dims=(2, 3))
        if torch.rand(1).item() < 0.5:
            xj = torch.flip(xj, dims=(3,))
        terms.clear()
        logits = model(xj)
        stats = sum(t * (10.0 if k == 0 else 1.0) for k, t in enumerate(terms))
        dd1 = xj[:, :, :, :-1] - xj[:, :, :, 1:]
        dd2 = xj[:, :, :-1, :] - xj[:, :, 1:, :]
        dd3 = xj[:, :, 1:, :-1] - xj[:, :, :-1, 1:]
        dd4 = xj[:, :, :-1, :-1] - xj[:, :, 1:, 1:]
        tv = torch.norm(dd1) + torch.norm(dd2) + torch.norm(dd3) + torch.norm(dd4)
        loss = F.cross_entropy(logits, labels) + 0.01 * tv + stats + 0.1 * torch.norm(xj.view(40, -1), dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x[:, 0].clamp_(-0.485 / 0.229, (1 - 0.485) / 0.229)
        if loss.item() < best_loss:
            best_loss, best = loss.item(), x.detach().clone()
    seconds = time.perf_counter() - start
    print(json.dumps({"iterations_per_second": a.iterations / seconds, "seconds": seconds, "threads": a.threads}))


if __name__ == "__main__":
    main()
