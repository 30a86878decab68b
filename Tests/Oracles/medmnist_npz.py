#!/usr/bin/env python3
"""A MedMNIST-schema .npz written with numpy's np.savez or np.savez_compressed (train/val/test
_images and _labels, uint8 images [N, 28, 28] or [N, 28, 28, 3], labels [N, 1]), for
Tests/ClassIncrementalTests/NpzTests.swift. Prints, as JSON, per split: the labels, the sum
of all pixels / 255 and pixel [i=1, y=5, x=7, channel 0] / 255, for the reader to match.

Damages (of member train_images.npy, found through Python's zipfile, the file rewritten):
  flipped-byte  one byte in the middle of its data inverted (the CRC-32, or the stream, breaks)
  lying-size    its uncompressed size in the central directory one larger than true
  huge-size     its uncompressed size in the central directory 2**31 - 1 (a zip bomb's claim)

Usage: medmnist_npz.py OUT.npz grey|rgb [stored|compressed] [intact|flipped-byte|lying-size|huge-size]
"""
import json
import struct
import sys
import zipfile

import numpy as np

out, kind = sys.argv[1], sys.argv[2]
storage = sys.argv[3] if len(sys.argv) > 3 else "stored"
damage = sys.argv[4] if len(sys.argv) > 4 else "intact"
rng = np.random.default_rng(4)
arrays, facts = {}, {}
for split, n in (("train", 12), ("val", 4), ("test", 6)):
    shape = (n, 28, 28) if kind == "grey" else (n, 28, 28, 3)
    # Eight grey levels: the members deflate to well under their size (real Huffman coding).
    images = (rng.integers(0, 8, size=shape) * 36).astype(np.uint8)
    labels = rng.integers(0, 4, size=(n, 1), dtype=np.int64)
    arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    first = images[1, 5, 7] if kind == "grey" else images[1, 5, 7, 0]
    facts[split] = {"labels": labels[:, 0].tolist(), "sum": float(images.astype(np.float64).sum() / 255), "pixel": float(first) / 255}
(np.savez_compressed if storage == "compressed" else np.savez)(out, **arrays)

member = "train_images.npy"
if damage != "intact":
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo(member)
    data = bytearray(open(out, "rb").read())
    if damage == "flipped-byte":
        name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_length + extra_length
        data[start + info.compress_size // 2] ^= 0xFF
    else:
        # The member's central-directory record: signature PK\1\2, its name at offset 46.
        at = data.find(b"PK\x01\x02")
        while data[at + 46:at + 46 + len(member)] != member.encode():
            at = data.find(b"PK\x01\x02", at + 4)
        size = struct.unpack_from("<I", data, at + 24)[0]
        assert size == info.file_size, "a ZIP64-saturated size: the damage expects a plain one"
        struct.pack_into("<I", data, at + 24, size + 1 if damage == "lying-size" else 2**31 - 1)
    open(out, "wb").write(bytes(data))
print(json.dumps(facts))
