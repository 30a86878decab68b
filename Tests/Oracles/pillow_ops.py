#!/usr/bin/env python3
"""Pillow as the reference for MedCIL's image operations.

resize IN.npy X0 Y0 X1 Y1 WIDTH HEIGHT OUT.npy
    Image.resize((WIDTH, HEIGHT), Image.BILINEAR, box=(X0, Y0, X1, Y1)) of a uint8 grey image
grey IN.npy OUT.npy
    Image.convert("L") of a uint8 RGB image [H, W, 3] (ITU-R 601-2 luma, Pillow's fixed point)
"""
import sys

import numpy as np
from PIL import Image


def main(argv):
    if argv[1] == "resize":
        image = Image.fromarray(np.load(argv[2]))
        box = tuple(float(v) for v in argv[3:7])
        size = (int(argv[7]), int(argv[8]))
        np.save(argv[9], np.asarray(image.resize(size, Image.BILINEAR, box=box)))
    elif argv[1] == "grey":
        np.save(argv[3], np.asarray(Image.fromarray(np.load(argv[2])).convert("L")))
    else:
        raise SystemExit(f"unknown operation {argv[1]}")


if __name__ == "__main__":
    main(sys.argv)
