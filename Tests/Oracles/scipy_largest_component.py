#!/usr/bin/env python3
"""Independent reference for MedCIL's largest-connected-component post-processing
(Sources/Segmentation/LargestComponent.swift): scipy.ndimage.label with the 6-connected
(face) or 26-connected (full) structure, then the label with the most voxels (numpy argmax:
the first of equal maxima). Writes the kept mask as uint8 to OUT.npy.
usage: scipy_largest_component.py IN.npy face|full OUT.npy
"""
import sys

import numpy as np
from scipy import ndimage


def main(path, connectivity, out):
    mask = np.load(path).astype(bool)
    structure = ndimage.generate_binary_structure(3, 1 if connectivity == "face" else 3)
    labels, count = ndimage.label(mask, structure=structure)
    if count == 0:
        kept = np.zeros_like(mask)
    else:
        sizes = np.bincount(labels.ravel())[1:]
        kept = labels == (int(np.argmax(sizes)) + 1)
    np.save(out, kept.astype(np.uint8))


if __name__ == "__main__":
    main(*sys.argv[1:4])
