#!/usr/bin/env python3
"""Independent reference for MedCIL's NIfTI header reading: the same header facts read by
nibabel 5 (header as stored in the file, the affine nibabel uses, its axis codes, the
scaling it applies). Prints one JSON object.
usage: nibabel_header.py FILE.nii[.gz]
"""
import json
import math
import sys

import nibabel as nib
from nibabel.openers import ImageOpener


def number(value):
    value = float(value)
    return None if math.isnan(value) else value


def main(path):
    with ImageOpener(path) as handle:
        first = handle.read(4)
    size = int.from_bytes(first, "little")
    if size not in (348, 540):
        size = int.from_bytes(first, "big")
    klass = nib.Nifti2Image if size == 540 else nib.Nifti1Image
    with ImageOpener(path) as handle:
        hdr = klass.header_class.from_fileobj(handle, check=False)
    img = klass.from_filename(path)
    slope, inter = img.dataobj.slope, img.dataobj.inter
    out = {
        "version": 2 if size == 540 else 1,
        "byteOrder": "big" if hdr.endianness == ">" else "little",
        "dim": [int(v) for v in hdr["dim"]],
        "shape": [int(v) for v in img.shape],
        "datatypeCode": int(hdr["datatype"]),
        "bitsPerVoxel": int(hdr["bitpix"]),
        "pixdim": [float(v) for v in hdr["pixdim"]],
        "voxOffset": int(img.dataobj.offset),
        "sclSlope": number(hdr["scl_slope"]),
        "sclInter": number(hdr["scl_inter"]),
        "appliedSlope": float(slope),
        "appliedInter": float(inter),
        "calMin": float(hdr["cal_min"]),
        "calMax": float(hdr["cal_max"]),
        "qformCode": int(hdr["qform_code"]),
        "sformCode": int(hdr["sform_code"]),
        "quaternion": [float(hdr["quatern_b"]), float(hdr["quatern_c"]), float(hdr["quatern_d"])],
        "qoffset": [float(hdr["qoffset_x"]), float(hdr["qoffset_y"]), float(hdr["qoffset_z"])],
        "qform": hdr.get_qform().tolist() if int(hdr["qform_code"]) > 0 else None,
        "sform": hdr.get_sform().tolist(),
        "affine": img.affine.tolist(),
        "axisCodes": list(nib.aff2axcodes(img.affine)),
        "intentCode": int(hdr["intent_code"]),
        "intentLabel": hdr["intent_name"].tobytes().split(b"\0")[0].decode("utf-8", "replace"),
        "intentParameters": [float(hdr["intent_p1"]), float(hdr["intent_p2"]), float(hdr["intent_p3"])],
        "description": hdr["descrip"].tobytes().split(b"\0")[0].decode("utf-8", "replace"),
        "extensions": [[int(e.get_code()), int(e.get_sizeondisk())] for e in img.header.extensions],
        "xyztUnits": list(hdr.get_xyzt_units()),
        "dimInfo": [0 if v is None else v + 1 for v in hdr.get_dim_info()],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
