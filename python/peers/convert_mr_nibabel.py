#!/usr/bin/env python3
"""The peer a user would pick for `medcil bench convert-mr`: nibabel 5 + numpy (+ Pillow for
the in-plane resize) doing the same work as MedCIL's MR conversion on each volume pair:

  read image and label volume (nibabel) -> reorient both to RAS+ (as_closest_canonical /
  io_orientation + apply_orientation) -> label values to canonical class indices (numpy)
  -> percentile clip + z-score or [0, 1] (numpy.percentile, linear) -> axial/coronal/sagittal
  slices -> optional in-plane resize to a target spacing (Pillow BILINEAR on float images,
  NEAREST on masks) -> centred pad/crop or resize to the target size -> np.save of every
  image slice (float32) and mask slice (uint8).

Input: a JSON job file {"settings": {...}, "volumes": [{"image", "label", "volume", "out"}]}.
Prints one JSON line per volume: {"volume", "slices", "seconds"}. Timing covers reading the
files to the last slice written, as for MedCIL (not Python's start-up and imports).
usage: convert_mr_nibabel.py JOB.json
"""
import json
import os
import sys
import time

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, io_orientation
from PIL import Image


def fit_plane(plane, size, fill):
    """Centred pad (with fill) or crop to size = (H, W)."""
    h, w = plane.shape
    out = np.full(size, fill, dtype=plane.dtype)
    # Padding before: (target - n) // 2; cropping before: (n - target) // 2 (an odd excess
    # loses its extra row or column at the end).
    src_top, src_left = max(0, (h - size[0]) // 2), max(0, (w - size[1]) // 2)
    dst_top, dst_left = max(0, (size[0] - h) // 2), max(0, (size[1] - w) // 2)
    rows = min(h - src_top, size[0] - dst_top)
    cols = min(w - src_left, size[1] - dst_left)
    out[dst_top:dst_top + rows, dst_left:dst_left + cols] = plane[src_top:src_top + rows, src_left:src_left + cols]
    return out


def resize_image(plane, size):
    return np.asarray(Image.fromarray(plane.astype(np.float32), mode="F").resize((size[1], size[0]), Image.BILINEAR))


def resize_mask(plane, size):
    return np.asarray(Image.fromarray(plane.astype(np.uint8)).resize((size[1], size[0]), Image.NEAREST))


def convert(volume, settings):
    image = nib.load(volume["image"])
    label = nib.load(volume["label"])
    ornt = io_orientation(image.affine)
    canonical = nib.as_closest_canonical(image)
    data = np.asarray(canonical.get_fdata(), dtype=np.float64).astype(np.float32)
    raw = apply_orientation(np.asarray(label.dataobj.get_unscaled()), ornt)
    if not np.all(np.isfinite(data)):
        raise ValueError("non-finite voxels")
    lut = {int(k): v for k, v in settings["label_map"].items()}
    mask = np.zeros(raw.shape, dtype=np.uint8)
    values = np.unique(raw)
    unlisted = [int(v) for v in values if int(v) not in lut]
    if unlisted and settings["unlisted"] == "error":
        raise ValueError(f"unlisted label values {unlisted}")
    for value in values:
        if int(value) in lut:
            mask[raw == value] = lut[int(value)]
    low, high = np.percentile(data, settings["clip_percentiles"])
    clipped = np.clip(data.astype(np.float64), low, high)
    if settings["normalization"] == "zscore":
        mean, std = clipped.mean(), clipped.std()
        normalized = ((clipped - mean) / std).astype(np.float32)
        fill = np.float32((low - mean) / std)
    else:
        normalized = ((clipped - low) / (high - low)).astype(np.float32)
        fill = np.float32(0)
    zooms = np.sqrt((canonical.affine[:3, :3] ** 2).sum(axis=0))
    axis = {"axial": 2, "coronal": 1, "sagittal": 0}[settings["slice_axis"]]
    plane_axes = [a for a in range(3) if a != axis]
    size = tuple(settings["size"])
    spacing = settings.get("spacing")
    os.makedirs(volume["out"], exist_ok=True)
    count = normalized.shape[axis]
    for k in range(count):
        plane = np.take(normalized, k, axis=axis)
        plane_mask = np.take(mask, k, axis=axis)
        if spacing:
            target = (max(1, int(round(plane.shape[0] * zooms[plane_axes[0]] / spacing[0]))),
                      max(1, int(round(plane.shape[1] * zooms[plane_axes[1]] / spacing[1]))))
            if target != plane.shape:
                plane = resize_image(plane, target)
                plane_mask = resize_mask(plane_mask, target)
        if settings["fit"] == "pad":
            plane = fit_plane(plane, size, fill)
            plane_mask = fit_plane(plane_mask, size, np.uint8(0))
        elif plane.shape != size:
            plane = resize_image(plane, size)
            plane_mask = resize_mask(plane_mask, size)
        stem = os.path.join(volume["out"], "%s_%04d" % (volume["volume"], k))
        np.save(stem + ".npy", np.ascontiguousarray(plane, dtype=np.float32))
        np.save(stem + "_mask.npy", np.ascontiguousarray(plane_mask, dtype=np.uint8))
    return count


def main(path):
    job = json.load(open(path))
    for volume in job["volumes"]:
        start = time.perf_counter()
        slices = convert(volume, job["settings"])
        print(json.dumps({"volume": volume["volume"], "slices": slices, "seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
