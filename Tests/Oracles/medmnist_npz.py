#!/usr/bin/env python3
"""A MedMNIST-schema .npz written with numpy's np.savez (train/val/test _images and _labels,
uint8 images [N, 28, 28] or [N, 28, 28, 3], labels [N, 1]), for
Tests/ClassIncrementalTests/NpzTests.swift. Prints, as JSON, per split: the labels, the sum
of all pixels / 255 and pixel [i=1, y=5, x=7, channel 0] / 255, for the reader to match.

Usage: medmnist_npz.py OUT.npz grey|rgb
"""
import json
import sys

import numpy as np

out, kind = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(4)
arrays, facts = {}, {}
for split, n in (("train", 12), ("val", 4), ("test", 6)):
    shape = (n, 28, 28) if kind == "grey" else (n, 28, 28, 3)
    images = rng.integers(0, 256, size=shape, dtype=np.uint8)
    labels = rng.integers(0, 4, size=(n, 1), dtype=np.int64)
    arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    first = images[1, 5, 7] if kind == "grey" else images[1, 5, 7, 0]
    facts[split] = {"labels": labels[:, 0].tolist(), "sum": float(images.astype(np.float64).sum() / 255), "pixel": float(first) / 255}
np.savez(out, **arrays)
print(json.dumps(facts))
