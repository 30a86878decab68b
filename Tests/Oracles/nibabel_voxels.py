#!/usr/bin/env python3
"""Independent reference for MedCIL's voxel reading: nibabel's scaled voxels
(`get_fdata()`, cast to float32, C order [x, y, z, ...]) of each file, in the stored
orientation or after `as_closest_canonical`, saved with numpy; prints one JSON line per
file with the shape, affine and axis codes nibabel gives the saved array.
usage: nibabel_voxels.py [--canonical] FILE OUT.npy [FILE OUT.npy ...]
"""
import json
import sys

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener


def load(path):
    with ImageOpener(path) as handle:
        first = handle.read(4)
    size = int.from_bytes(first, "little")
    if size not in (348, 540):
        size = int.from_bytes(first, "big")
    return (nib.Nifti2Image if size == 540 else nib.Nifti1Image).from_filename(path)


def main(args):
    canonical = "--canonical" in args
    args = [a for a in args if a != "--canonical"]
    for path, out in zip(args[0::2], args[1::2]):
        img = load(path)
        if canonical:
            img = nib.as_closest_canonical(img)
        data = np.asarray(img.get_fdata(), dtype=np.float64).astype(np.float32)
        np.save(out, np.ascontiguousarray(data))
        print(json.dumps({"file": path, "shape": list(data.shape), "affine": img.affine.tolist(),
                          "axisCodes": list(nib.aff2axcodes(img.affine))}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
