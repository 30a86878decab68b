#!/usr/bin/env python3
"""Independent reference for MedCIL's 3D segmentation metrics (Sources/Segmentation/SurfaceMetrics.swift),
written with scipy.ndimage only:
  surface(X) = X & ~binary_erosion(X, 6-connected structure, border_value=0)
  d(p, surface(Y)) = distance_transform_edt(~surface(Y), sampling=spacing)[p]
  A = distances of surface(P) to surface(R) and of surface(R) to surface(P), pooled
  Dice = 2|P&R| / (|P|+|R|),  ASSD = mean(A),  HD95 = numpy.percentile(A, 95) (linear)
Masks are uint8 .npy arrays [depth, height, width]; both must be non-empty.
usage: scipy_surface_distance.py PRED.npy REF.npy SPACING_D SPACING_H SPACING_W
Prints dice, assd, hd95 (repr floats), one per line.
"""
import sys

import numpy as np
from scipy import ndimage


def surface(mask):
    structure = ndimage.generate_binary_structure(3, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def main(args):
    pred = np.load(args[0]).astype(bool)
    ref = np.load(args[1]).astype(bool)
    spacing = [float(s) for s in args[2:5]]
    dice = 2.0 * np.logical_and(pred, ref).sum() / (pred.sum() + ref.sum())
    sp, sr = surface(pred), surface(ref)
    to_ref = ndimage.distance_transform_edt(~sr, sampling=spacing)
    to_pred = ndimage.distance_transform_edt(~sp, sampling=spacing)
    distances = np.concatenate([to_ref[sp], to_pred[sr]])
    for value in (dice, distances.mean(), np.percentile(distances, 95)):
        print(repr(float(value)))


if __name__ == "__main__":
    main(sys.argv[1:])
