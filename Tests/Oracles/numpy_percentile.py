#!/usr/bin/env python3
"""Independent reference for MedCIL's intensity percentiles: numpy.percentile (default
linear interpolation) of a float32 array. Prints the values, one per line.
usage: numpy_percentile.py IN.npy Q [Q ...]
"""
import sys

import numpy as np


def main(args):
    values = np.load(args[0]).astype(np.float64)
    for q in args[1:]:
        print(repr(float(np.percentile(values, float(q)))))


if __name__ == "__main__":
    main(sys.argv[1:])
