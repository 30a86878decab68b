#!/usr/bin/env python3
"""numpy's view of a converted dataset: every output opens with numpy.load with the shape and
dtype dataset.json documents, every manifest row points at a sample with the right label, and
the per-split counts add up. Prints "ok <samples>".
usage: check_shards.py DATASET_DIR
"""
import csv
import json
import os
import sys

import numpy as np


def main(folder):
    description = json.load(open(os.path.join(folder, "dataset.json")))
    image = description["image"]
    shape = tuple(image["sample_shape"])
    dtype = np.dtype(image["dtype"])
    rows = list(csv.DictReader(open(os.path.join(folder, "manifest.csv"), newline="")))
    seen = {}
    shards = {}
    for row in rows:
        label = int(row["label"])
        assert description["classes"][row["class"]] == label, row
        if image["layout"] == "files":
            array = np.load(os.path.join(folder, row["file"]))
            assert array.shape == shape and array.dtype == dtype, (row["file"], array.shape, array.dtype)
            assert row["file"].endswith(f"_{label}.npy"), row["file"]
        else:
            if row["file"] not in shards:
                shards[row["file"]] = np.load(os.path.join(folder, row["file"]), mmap_mode="r")
            shard = shards[row["file"]]
            assert shard.shape[1:] == shape and shard.dtype == dtype, (row["file"], shard.shape, shard.dtype)
            array = shard[int(row["index"])]
        if dtype == np.uint8:
            assert array.max() > 0, row["id"]
        seen[row["split"]] = seen.get(row["split"], 0) + 1
    if image["layout"] == "packed":
        for split in ("train", "val", "test"):
            labels_path = os.path.join(folder, split, "labels.npy")
            split_rows = [r for r in rows if r["split"] == split]
            if not split_rows:
                continue
            labels = np.load(labels_path)
            assert labels.dtype == np.int64 and labels.shape == (len(split_rows),), (labels.dtype, labels.shape)
            assert [int(r["label"]) for r in split_rows] == labels.tolist()
    for split, count in seen.items():
        assert description["splits"][split]["samples"] == count, (split, count)
    print(f"ok {len(rows)}")


if __name__ == "__main__":
    main(sys.argv[1])
