#!/usr/bin/env python3
"""Independent reference for MedCIL's axis orientation: nibabel's io_orientation and
aff2axcodes of each affine in a JSON list (4x4 row lists) read from a file, and the affine
as_closest_canonical would give a volume of the listed shape. Prints a JSON list.
usage: nibabel_orientation.py AFFINES.json
"""
import json
import sys

import nibabel as nib
import numpy as np
from nibabel.orientations import inv_ornt_aff, io_orientation


def main(path):
    cases = json.load(open(path))
    out = []
    for case in cases:
        affine = np.array(case["affine"], dtype=np.float64)
        ornt = io_orientation(affine)
        if np.any(np.isnan(ornt)):
            out.append({"codes": None})
            continue
        canonical = affine.dot(inv_ornt_aff(ornt, case["shape"]))
        out.append({"codes": list(nib.aff2axcodes(affine)), "ornt": ornt.astype(int).tolist(),
                    "canonical": canonical.tolist()})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
