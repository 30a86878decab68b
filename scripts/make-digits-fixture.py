#!/usr/bin/env python3
"""Writes scikit-learn's handwritten digits (1797 real 8x8 images, 10 classes) into
fixtures/digits-shards in MedCIL's packed shard layout (dataset.json, <split>/shard-000.npy
uint8 [N, 1, 8, 8], <split>/labels.npy int64): the bundled real dataset of `medcil cil run`.

Licence: the digits are the test set of the UCI "Optical Recognition of Handwritten Digits"
data (Alpaydin & Kaynak, 1998), shipped with scikit-learn under the BSD-3-Clause licence
(scikit-learn/COPYING). The fixture folder carries that notice in LICENSE.txt.

Values 0..16 are scaled to 0..255 (round(v * 255 / 16)). Split: per class, a seeded
permutation (numpy default_rng(0)) cut 70 / 10 / 20 % into train / val / test.

Usage: python3 scripts/make-digits-fixture.py [--from-npy .testdata/digits]  (default: sklearn)
"""
import argparse
import json
import os
import sys

import numpy as np


def load(from_npy):
    if from_npy:
        return np.load(os.path.join(from_npy, "images.npy")), np.load(os.path.join(from_npy, "labels.npy"))
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.images.astype(np.uint8), d.target.astype(np.int64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--from-npy", default=None)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "digits-shards"))
    args = parser.parse_args()
    images, labels = load(args.from_npy)
    assert images.shape == (1797, 8, 8) and images.max() <= 16, images.shape
    scaled = np.round(images.astype(np.float64) * 255 / 16).astype(np.uint8)
    rng = np.random.default_rng(0)
    split = np.empty(len(labels), dtype=object)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_train, n_val = int(round(0.7 * len(idx))), int(round(0.1 * len(idx)))
        split[idx[:n_train]] = "train"
        split[idx[n_train:n_train + n_val]] = "val"
        split[idx[n_train + n_val:]] = "test"
    os.makedirs(args.out, exist_ok=True)
    counts = {}
    for name in ("train", "val", "test"):
        rows = np.flatnonzero(split == name)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "shard-000.npy"), scaled[rows][:, None, :, :])
        np.save(os.path.join(folder, "labels.npy"), labels[rows])
        counts[name] = {"samples": int(len(rows)), "source_files": int(len(rows)), "patients": 0,
                        "per_class": {str(c): int((labels[rows] == c).sum()) for c in range(10)}}
    train = scaled[split == "train"].astype(np.float64) / 255
    description = {
        "format": "medcil-echo-shards", "format_version": 1, "site": "digits", "dataset": "digits",
        "taxonomy": {"name": "sklearn-digits", "version": "1"},
        "classes": {str(c): c for c in range(10)}, "site_classes": [str(c) for c in range(10)],
        "label_map": {str(c): str(c) for c in range(10)},
        "image": {"height": 8, "width": 8, "frames_per_sample": 1, "dtype": "uint8", "layout": "packed",
                  "sample_shape": [1, 8, 8], "value_range": [0, 1]},
        "splits": counts,
        "normalization": {"scale": "x/255", "mean": float(train.mean()), "std": float(train.std()), "computed_on": "train"},
        "split": {"seed": 0, "method": "per-class seeded permutation 70/10/20", "fractions": {"train": 0.7, "val": 0.1, "test": 0.2},
                  "grouped_by": "image"},
        "config_digest": "scripts/make-digits-fixture.py", "created_by": "scripts/make-digits-fixture.py",
    }
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump(description, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "LICENSE.txt"), "w") as f:
        f.write("Handwritten digits: the test set of the UCI Optical Recognition of Handwritten Digits data set\n"
                "(E. Alpaydin, C. Kaynak, 1998), as distributed with scikit-learn (sklearn.datasets.load_digits).\n"
                "scikit-learn is distributed under the BSD 3-Clause License, Copyright (c) the scikit-learn developers.\n"
                "Written into MedCIL's shard layout by scripts/make-digits-fixture.py.\n")
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v['samples']}" for k, v in counts.items()))


if __name__ == "__main__":
    sys.exit(main())
