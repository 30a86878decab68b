#!/usr/bin/env python3
"""Independent reference for `medcil dicom frames`: decode a DICOM file with pydicom 3 (+ Pillow
for JPEG) and bring the result to MedCIL's documented convention, then compare or save.

Convention (see FrameDecoder): shape [frames, rows, columns, samples]; YBR converted to RGB
(pydicom's default), PALETTE COLOR applied with pydicom.pixels.apply_color_lut, MONOCHROME1
inverted (max - value for unsigned, -1 - value for signed).

usage: pydicom_frames.py compare DICOM NPY [--tolerance T]   exit 0 when equal within T
       pydicom_frames.py save DICOM NPY
"""
import sys

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut


# Lossy JPEG is decoded with Pillow (libjpeg-turbo), the plugin whose rounding the issue's
# 2-grey-level tolerance refers to; pylibjpeg's libjpeg rounds colour differently.
LOSSY_JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def reference(path):
    ds = pydicom.dcmread(path, force=True)
    syntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", ""))
    arr = None
    if syntax in LOSSY_JPEG:
        try:
            ds.pixel_array_options(decoding_plugin="pillow")
            arr = ds.pixel_array
        except Exception:
            ds = pydicom.dcmread(path, force=True)  # 12-bit JPEG: Pillow cannot; let pydicom pick
    if arr is None:
        arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    pi = str(ds.PhotometricInterpretation).strip()
    if pi == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        spp = 3
    if frames == 1:
        arr = arr[np.newaxis, ...]
    if spp == 1:
        arr = arr[..., np.newaxis]
    if pi == "MONOCHROME1":
        if int(ds.PixelRepresentation) == 1:
            arr = (-1 - arr.astype(np.int64)).astype(arr.dtype)
        else:
            arr = ((1 << int(ds.BitsStored)) - 1 - arr.astype(np.int64)).astype(arr.dtype)
    return arr


def main():
    mode, dicom, npy = sys.argv[1], sys.argv[2], sys.argv[3]
    tolerance = 0
    if "--tolerance" in sys.argv:
        tolerance = int(sys.argv[sys.argv.index("--tolerance") + 1])
    ref = reference(dicom)
    if mode == "save":
        np.save(npy, ref)
        return 0
    ours = np.load(npy)
    if ours.shape != ref.shape:
        print(f"shape differs: medcil {ours.shape} pydicom {ref.shape}")
        return 1
    if ours.dtype != ref.dtype and not (ours.dtype.kind in "ui" and ref.dtype.kind in "ui"):
        print(f"dtype differs: medcil {ours.dtype} pydicom {ref.dtype}")
        return 1
    diff = np.abs(ours.astype(np.int64) - ref.astype(np.int64))
    worst = int(diff.max()) if diff.size else 0
    print(f"max abs difference {worst}, differing samples {int((diff > 0).sum())} of {diff.size}, dtypes medcil {ours.dtype} pydicom {ref.dtype}")
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
