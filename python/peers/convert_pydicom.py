#!/usr/bin/env python3
"""The peer of `medcil bench convert`: pydicom 3 + numpy + scipy + Pillow doing the same work as
MedCIL's echo conversion (EchoCineProcessor with the default geometry: region auto, sector
mask, pad to 112x112) on every frame of each file:

  decode (pydicom; its Pillow plugin for JPEG Baseline) -> grey (Pillow convert("L"), ITU-R 601 luma)
  -> search box: the largest 2D tissue ultrasound region inside the image, else the whole image
  -> sector: over 16 probe frames, pixels whose grey level varies (variance > 1, colourful
     pixels excluded), eroded once (3x3), the largest 4-connected component, its convex hull
     (MedCIL's SectorDetector rule); with a region the crop stays the region and the hull masks
     inside it (when it covers >= 15 %), without one the crop is the hull's bounding box
  -> black outside the sector, resize keeping the aspect ratio (Pillow BILINEAR, antialiased)
     and pad to 112x112.

Each file is decoded once untimed (imports, plugin loading and the file cache warm up), then
converted --repeats times in this one process; the median is reported.
Prints one JSON line per file: {"file", "frames", "seconds", "runs"}; with --out DIR also writes
DIR/<k>.npy, the uint8 [frames, 112, 112] output of file k, for comparison with MedCIL's.
usage: convert_pydicom.py [--repeats N] [--out DIR] FILE [FILE ...]
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import JPEGBaseline8Bit
from scipy import ndimage

SIZE = 112
PROBE_FRAMES = 16


def region_box(ds, rows, cols):
    """Largest tissue 2D region that lies inside the image (first of equal areas), or None."""
    best = None
    for item in getattr(ds, "SequenceOfUltrasoundRegions", []):
        if getattr(item, "RegionSpatialFormat", None) != 1 or getattr(item, "RegionDataType", None) != 1:
            continue
        x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
        x1, y1 = int(item.RegionLocationMaxX1), int(item.RegionLocationMaxY1)
        if x0 < 0 or y0 < 0 or x1 >= cols or y1 >= rows or x0 >= x1 or y0 >= y1:
            continue
        area = (x1 - x0 + 1) * (y1 - y0 + 1)
        if best is None or area > best[0]:
            best = (area, (x0, y0, x1, y1))
    return best[1] if best else None


def grey_frame(frame):
    image = Image.fromarray(frame)
    return np.asarray(image if image.mode == "L" else image.convert("L"))


def convex_hull(points):
    """Andrew's monotone chain, counter-clockwise, without repeats."""
    points = sorted(points)
    if len(points) < 3:
        return points

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    lower, upper = [], []
    for p in points:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(points):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def hull_span(hull, row):
    lo, hi = math.inf, -math.inf
    for k in range(len(hull)):
        (ax, ay), (bx, by) = hull[k], hull[(k + 1) % len(hull)]
        if ay <= row <= by or by <= row <= ay:
            if ay == by:
                lo, hi = min(lo, ax, bx), max(hi, ax, bx)
            else:
                x = ax + (row - ay) * (bx - ax) / (by - ay)
                lo, hi = min(lo, x), max(hi, x)
    return (lo, hi) if lo <= hi else None


def detect_sector(greys, excluded):
    """Sector mask and bounding box over the searched image, or None (MedCIL's SectorDetector)."""
    height, width = greys[0].shape
    stack = np.stack(greys).astype(np.float32)
    if len(greys) >= 2:
        n = np.float32(len(greys))
        total = np.zeros((height, width), np.float32)
        total_sq = np.zeros((height, width), np.float32)
        for g in stack:  # integer sums below 2^24: exact in float32, as in MedCIL
            total += g
            total_sq += g * g
        mean = total / n
        active = total_sq / n - mean * mean > np.float32(1.0)
    else:
        active = stack[0] > 8
    if excluded is not None:
        active &= ~excluded
    eroded = np.zeros_like(active)
    eroded[1:-1, 1:-1] = ndimage.binary_erosion(active, structure=np.ones((3, 3), bool))[1:-1, 1:-1] & active[1:-1, 1:-1]
    labels, count = ndimage.label(eroded)  # 4-connected, labels in scan order
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    component = labels == int(np.argmax(sizes))
    points = []
    for y in np.flatnonzero(component.any(axis=1)):
        xs = np.flatnonzero(component[y])
        lo, hi = float(xs[0]), float(xs[-1])
        points += [(lo - 1, y - 1.0), (hi + 1, y - 1.0), (lo - 1, y + 1.0), (hi + 1, y + 1.0)]
    hull = convex_hull(points)
    if len(hull) < 3:
        return None
    mask = np.zeros((height, width), bool)
    for y in range(height):
        span = hull_span(hull, float(y))
        if span is None:
            continue
        lo, hi = max(math.ceil(span[0]), 0), min(math.floor(span[1]), width - 1)
        if lo <= hi:
            mask[y, lo:hi + 1] = True
    coverage = mask.sum() / mask.size
    if coverage < 0.02 or not mask.any():
        return None
    ys, xs = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask, (int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])), coverage


# Pillow decodes JPEG Baseline straight to RGB (libjpeg-turbo), faster than pydicom's default
# plugin followed by its numpy YBR -> RGB conversion; other syntaxes keep pydicom's default.
PILLOW_SYNTAXES = {JPEGBaseline8Bit}


def read_frames(path):
    ds = pydicom.dcmread(path)
    if ds.file_meta.TransferSyntaxUID in PILLOW_SYNTAXES:
        ds.pixel_array_options(decoding_plugin="pillow")
    return ds, ds.pixel_array


def convert(path):
    ds, frames = read_frames(path)
    if int(getattr(ds, "NumberOfFrames", 1) or 1) == 1:
        frames = frames[np.newaxis]
    rows, cols = int(ds.Rows), int(ds.Columns)
    count = len(frames)
    region = region_box(ds, rows, cols)
    sx0, sy0, sx1, sy1 = region if region else (0, 0, cols - 1, rows - 1)
    greys = [grey_frame(f) for f in frames]
    probe_count = min(PROBE_FRAMES, count)
    probes = sorted({min(count - 1, (2 * k + 1) * count // (2 * probe_count)) for k in range(probe_count)})
    search = [greys[k][sy0:sy1 + 1, sx0:sx1 + 1] for k in probes]
    excluded = None
    if frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8:
        excluded = np.zeros(search[0].shape, bool)
        for k in probes:
            rgb = frames[k][sy0:sy1 + 1, sx0:sx1 + 1].astype(np.int16)
            spread = np.maximum(np.maximum(abs(rgb[..., 0] - rgb[..., 1]), abs(rgb[..., 1] - rgb[..., 2])), abs(rgb[..., 0] - rgb[..., 2]))
            excluded |= spread > 24
    detected = detect_sector(search, excluded)
    crop, mask = (sx0, sy0, sx1, sy1), None
    if detected is not None and detected[2] >= (0.15 if region else 0.02):
        full_mask, (bx0, by0, bx1, by1), _ = detected
        if region:
            mask = full_mask
        else:
            crop = (sx0 + bx0, sy0 + by0, sx0 + bx1, sy0 + by1)
            mask = full_mask[by0:by1 + 1, bx0:bx1 + 1]
    x0, y0, x1, y1 = crop
    w, h = x1 - x0 + 1, y1 - y0 + 1
    scale = min(SIZE / w, SIZE / h)
    rw = max(1, min(SIZE, math.floor(w * scale + 0.5)))
    rh = max(1, min(SIZE, math.floor(h * scale + 0.5)))
    ox, oy = (SIZE - rw) // 2, (SIZE - rh) // 2
    out = np.zeros((count, SIZE, SIZE), np.uint8)
    for k, g in enumerate(greys):
        image = g[y0:y1 + 1, x0:x1 + 1]
        if mask is not None:
            image = np.where(mask, image, 0).astype(np.uint8)
        out[k, oy:oy + rh, ox:ox + rw] = np.asarray(Image.fromarray(image).resize((rw, rh), Image.BILINEAR))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    for index, path in enumerate(args.files):
        read_frames(path)  # untimed warm-up decode
        runs = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            out = convert(path)
            runs.append(time.perf_counter() - start)
        if args.out:
            np.save(os.path.join(args.out, f"{index}.npy"), out)
        print(json.dumps({"file": path, "frames": int(out.shape[0]), "seconds": statistics.median(runs), "runs": runs}), flush=True)


if __name__ == "__main__":
    main()
