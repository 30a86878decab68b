#!/usr/bin/env python3
"""Independent check of an MR slice dataset written by `medcil convert mr`, with nibabel,
numpy and Pillow:

  * numpy.load opens every output with the documented shape and dtype (float32 / uint8 [H, W]);
  * every manifest row points at an image and a mask that exist, its per-class pixel counts
    equal the mask's, unannotated classes have no count, the empty flag is right, and the
    per-split counts of dataset.json add up; a volume's slices are all in one split;
  * every converted volume is recomputed from its NIfTI files (found from the private resume
    records in the state folder, which hold HMAC-SHA-256 hashes of the paths under the salt,
    never the paths) with nibabel (as_closest_canonical), numpy (percentile clip, z-score or
    [0, 1], slicing) and Pillow (BILINEAR / NEAREST resize), and must equal MedCIL's slices
    (images within 1e-4 absolute, masks exactly); stored axis codes, canonical affines and
    clip values in dataset.json must equal nibabel's.

Prints "ok <slices> <volumes>".
usage: nibabel_mr_dataset.py DATASET_DIR INPUT_DIR STATE_DIR SALT_FILE
"""
import csv
import glob
import hashlib
import hmac
import json
import os
import sys

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, io_orientation
from PIL import Image


def fit_plane(plane, size, fill):
    h, w = plane.shape
    out = np.full(size, fill, dtype=plane.dtype)
    # Padding before: (target - n) // 2; cropping before: (n - target) // 2.
    st, sl = max(0, (h - size[0]) // 2), max(0, (w - size[1]) // 2)
    dt, dl = max(0, (size[0] - h) // 2), max(0, (size[1] - w) // 2)
    rows, cols = min(h - st, size[0] - dt), min(w - sl, size[1] - dl)
    out[dt:dt + rows, dl:dl + cols] = plane[st:st + rows, sl:sl + cols]
    return out


def source_paths(input_dir, salt):
    """Relative path of every input file by its salted hash, as the records name sources:
    the first 24 hex digits of HMAC-SHA-256(salt, "source-path:" + relative path)."""
    paths = {}
    for root, _, names in os.walk(input_dir):
        for name in names:
            relative = os.path.relpath(os.path.join(root, name), input_dir).replace(os.sep, "/")
            digest = hmac.new(salt, ("source-path:" + relative).encode(), hashlib.sha256).hexdigest()[:24]
            paths[digest] = relative
    return paths


def reference(record, description, input_dir, paths):
    image = nib.load(os.path.join(input_dir, paths[record["image"]]))
    label = nib.load(os.path.join(input_dir, paths[record["label"]]))
    canonical = nib.as_closest_canonical(image)
    data = np.asarray(canonical.get_fdata(), dtype=np.float64).astype(np.float32)
    raw = apply_orientation(np.asarray(label.dataobj.get_unscaled()), io_orientation(image.affine))
    labels = description["labels"]
    mask = np.zeros(raw.shape, dtype=np.uint8)
    for value, target in description["label_map"].items():
        if target in labels:
            mask[raw == int(value)] = labels[target]
    intensity = description["intensity"]
    low, high = np.percentile(data, intensity["clip_percentiles"])
    clipped = np.clip(data.astype(np.float64), low, high)
    if intensity["normalization"] == "zscore":
        mean, std = clipped.mean(), clipped.std()
        normalized = ((clipped - mean) / std).astype(np.float32)
        fill = np.float32((low - mean) / std)
    else:
        normalized = ((clipped - low) / (high - low)).astype(np.float32)
        fill = np.float32(0)
    geometry = description["geometry"]
    axis = {"axial": 2, "coronal": 1, "sagittal": 0}[geometry["slice_axis"]]
    plane_axes = [a for a in range(3) if a != axis]
    zooms = np.sqrt((canonical.affine[:3, :3] ** 2).sum(axis=0))
    size = tuple(geometry["size"])
    spacing = geometry.get("target_spacing")
    slices = []
    for k in range(normalized.shape[axis]):
        plane, plane_mask = np.take(normalized, k, axis=axis), np.take(mask, k, axis=axis)
        if spacing:
            target = (max(1, int(round(plane.shape[0] * zooms[plane_axes[0]] / spacing[0]))),
                      max(1, int(round(plane.shape[1] * zooms[plane_axes[1]] / spacing[1]))))
            if target != plane.shape:
                plane = np.asarray(Image.fromarray(plane, mode="F").resize((target[1], target[0]), Image.BILINEAR))
                plane_mask = np.asarray(Image.fromarray(plane_mask).resize((target[1], target[0]), Image.NEAREST))
        if geometry["fit"] == "pad":
            plane, plane_mask = fit_plane(plane, size, fill), fit_plane(plane_mask, size, np.uint8(0))
        elif plane.shape != size:
            plane = np.asarray(Image.fromarray(plane, mode="F").resize((size[1], size[0]), Image.BILINEAR))
            plane_mask = np.asarray(Image.fromarray(plane_mask).resize((size[1], size[0]), Image.NEAREST))
        slices.append((plane, plane_mask))
    return image, canonical, (low, high), slices


def main(folder, input_dir, state_dir, salt_file):
    description = json.load(open(os.path.join(folder, "dataset.json")))
    shape = tuple(description["image"]["sample_shape"])
    labels = description["labels"]
    annotated = description["annotated_classes"]
    rows = list(csv.DictReader(open(os.path.join(folder, "manifest.csv"), newline="")))
    split_of_volume, counts = {}, {}
    for row in rows:
        image = np.load(os.path.join(folder, row["image"]))
        mask = np.load(os.path.join(folder, row["mask"]))
        assert image.shape == shape and image.dtype == np.float32, (row["image"], image.shape, image.dtype)
        assert mask.shape == shape and mask.dtype == np.uint8, (row["mask"], mask.shape, mask.dtype)
        assert np.all(np.isfinite(image)), row["image"]
        assert row["image"] == "%s/%s_%04d.npy" % (row["split"], row["volume"], int(row["slice"])), row["image"]
        assert row["mask"] == row["image"][:-4] + "_mask.npy", row["mask"]
        assert row["annotated"] == ";".join(annotated), row["annotated"]
        present = []
        for name, index in sorted(labels.items(), key=lambda kv: kv[1]):
            if index == 0:
                continue
            pixels = int((mask == index).sum())
            if name in annotated:
                assert row["px_" + name] == str(pixels), (row["mask"], name, row["px_" + name], pixels)
                if pixels:
                    present.append(name)
            else:
                assert row["px_" + name] == "" and pixels == 0, (row["mask"], name)
        assert row["present"] == ";".join(present), (row["present"], present)
        assert row["empty"] == ("0" if present else "1"), row
        assert split_of_volume.setdefault(row["volume"], row["split"]) == row["split"], "volume in two splits"
        counts[row["split"]] = counts.get(row["split"], 0) + 1
    for split, count in counts.items():
        assert description["splits"][split]["slices"] == count, (split, count)
    assert sorted(labels.values()) == list(range(len(labels))) and labels["background"] == 0, labels

    records = [json.load(open(p)) for p in glob.glob(os.path.join(state_dir, description["dataset"], "records", "*.json"))]
    paths = source_paths(input_dir, open(salt_file, "rb").read())
    checked = 0
    for record in records:
        if record["volume"] not in description["volumes"]:
            continue
        entry = description["volumes"][record["volume"]]
        image, canonical, clip, expected = reference(record, description, input_dir, paths)
        assert entry["stored_axis_codes"] == list(nib.aff2axcodes(image.affine)), (entry["stored_axis_codes"], nib.aff2axcodes(image.affine))
        assert np.allclose(entry["canonical_affine"], canonical.affine, atol=1e-5), record["volume"]
        assert np.allclose(entry["stored_affine"], image.affine, atol=1e-5), record["volume"]
        assert abs(entry["intensity"]["clip_low"] - clip[0]) <= 1e-4 * max(1, abs(clip[0])), (entry["intensity"], clip)
        assert abs(entry["intensity"]["clip_high"] - clip[1]) <= 1e-4 * max(1, abs(clip[1])), (entry["intensity"], clip)
        assert len(record["slices"]) == len(expected) == entry["slices"]
        for slice_record, (plane, plane_mask) in zip(record["slices"], expected):
            ours = np.load(os.path.join(folder, slice_record["image"]))
            ours_mask = np.load(os.path.join(folder, slice_record["mask"]))
            assert np.max(np.abs(ours - plane)) <= 1e-4, (slice_record["image"], float(np.max(np.abs(ours - plane))))
            assert np.array_equal(ours_mask, plane_mask), (slice_record["mask"], int((ours_mask != plane_mask).sum()))
        checked += 1
    assert checked == len(description["volumes"]), (checked, len(description["volumes"]))
    print(f"ok {len(rows)} {checked}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4])
