#!/usr/bin/env python3
"""How nibabel sees a label map next to the volume it was predicted from: both shapes and
affines (img.affine), and both voxel arrays on the stored grid (float32, C order [x, y, z])
saved to OUT_INPUT.npy and OUT_LABELS.npy. Prints one JSON object.
usage: nibabel_overlay.py INPUT LABELS OUT_INPUT.npy OUT_LABELS.npy
"""
import json
import sys

import nibabel as nib
import numpy as np


def main(input_path, label_path, out_input, out_labels):
    image, labels = nib.load(input_path), nib.load(label_path)
    np.save(out_input, np.ascontiguousarray(np.asarray(image.get_fdata(), dtype=np.float32)))
    np.save(out_labels, np.ascontiguousarray(np.asarray(labels.get_fdata(), dtype=np.float32)))
    print(json.dumps({
        "inputShape": list(image.shape),
        "labelShape": list(labels.shape),
        "inputAffine": image.affine.tolist(),
        "labelAffine": labels.affine.tolist(),
        "labelDtype": str(labels.get_data_dtype()),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:5])
