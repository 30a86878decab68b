#!/usr/bin/env python3
"""The peer a user would pick for `medcil bench convert`: pydicom 3 + numpy + Pillow doing
the same work as MedCIL's echo conversion on every frame of each file:

  decode (pydicom, Pillow / pylibjpeg plugins) -> grey (Pillow convert("L"), ITU-R 601 luma)
  -> crop to the largest 2D tissue ultrasound region (else the whole image)
  -> mask: pixels whose grey level varies across 16 sampled frames (numpy std > 1)
  -> resize to 112x112 (Pillow BILINEAR, antialiased)

Prints one JSON line per file: {"file", "frames", "seconds"}. Timing covers reading the
file to the last resized frame, as for MedCIL.
usage: convert_pydicom.py FILE [FILE ...]
"""
import json
import sys
import time

import numpy as np
import pydicom
from PIL import Image


def region_box(ds, rows, cols):
    best = None
    for item in getattr(ds, "SequenceOfUltrasoundRegions", []):
        if getattr(item, "RegionSpatialFormat", None) != 1 or getattr(item, "RegionDataType", None) != 1:
            continue
        box = (int(item.RegionLocationMinX0), int(item.RegionLocationMinY0),
               int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1))
        if box[0] < 0 or box[1] < 0 or box[2] >= cols or box[3] >= rows:
            continue
        area = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
        if best is None or area > best[0]:
            best = (area, box)
    return best[1] if best else (0, 0, cols - 1, rows - 1)


def convert(path, size=112):
    start = time.perf_counter()
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array
    if int(getattr(ds, "NumberOfFrames", 1) or 1) == 1:
        frames = frames[np.newaxis]
    rows, cols = int(ds.Rows), int(ds.Columns)
    x0, y0, x1, y1 = region_box(ds, rows, cols)
    grey = []
    for frame in frames:
        image = Image.fromarray(frame)
        if image.mode != "L":
            image = image.convert("L")
        grey.append(np.asarray(image)[y0:y1 + 1, x0:x1 + 1])
    probe = np.stack(grey[:: max(1, len(grey) // 16)][:16]).astype(np.float32)
    mask = probe.std(axis=0) > 1.0
    out = []
    for g in grey:
        out.append(np.asarray(Image.fromarray(np.where(mask, g, 0).astype(np.uint8)).resize((size, size), Image.BILINEAR)))
    seconds = time.perf_counter() - start
    return len(out), seconds


def main():
    for path in sys.argv[1:]:
        frames, seconds = convert(path)
        print(json.dumps({"file": path, "frames": frames, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
