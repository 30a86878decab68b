#!/usr/bin/env python3
"""Independent reference for MedCIL's slice resampling: Pillow's Image.resize of a float32
plane (mode "F", BILINEAR: the antialiased triangle filter) or of a uint8 mask (NEAREST).
usage: pillow_float_resize.py IN.npy HEIGHT WIDTH OUT.npy [--nearest]
"""
import sys

import numpy as np
from PIL import Image


def main(args):
    plane = np.load(args[0])
    height, width = int(args[1]), int(args[2])
    if "--nearest" in args:
        out = np.asarray(Image.fromarray(plane.astype(np.uint8)).resize((width, height), Image.NEAREST))
    else:
        out = np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize((width, height), Image.BILINEAR))
    np.save(args[3], np.ascontiguousarray(out))


if __name__ == "__main__":
    main(sys.argv[1:])
