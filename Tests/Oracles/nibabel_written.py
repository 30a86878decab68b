#!/usr/bin/env python3
"""What nibabel reads from a NIfTI file MedCIL wrote: version, datatype, shape, sform and
qform (with their codes), scaling, description, extensions, and the scaled voxels as
float32 C order [x, y, z, ...] saved to OUT.npy. Prints one JSON object.
usage: nibabel_written.py FILE OUT.npy
"""
import json
import sys

import nibabel as nib
import numpy as np


def main(path, out):
    img = nib.load(path)
    hdr = img.header
    np.save(out, np.ascontiguousarray(np.asarray(img.get_fdata(), dtype=np.float64).astype(np.float32)))
    raw = np.asarray(img.dataobj.get_unscaled())
    print(json.dumps({
        "class": type(img).__name__,
        "dtype": str(hdr.get_data_dtype().newbyteorder("=")),
        "rawDtype": str(raw.dtype.newbyteorder("=")),
        "shape": list(img.shape),
        "sformCode": int(hdr["sform_code"]),
        "qformCode": int(hdr["qform_code"]),
        "sform": hdr.get_sform().tolist(),
        "qform": hdr.get_qform().tolist(),
        "slope": float(img.dataobj.slope),
        "inter": float(img.dataobj.inter),
        "description": hdr["descrip"].tobytes().split(b"\0")[0].decode(),
        "extensions": [[int(e.get_code()), e.get_content().decode("utf-8", "replace")] for e in hdr.extensions],
        "zooms": [float(z) for z in hdr.get_zooms()[:3]],
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
