#!/usr/bin/env python3
"""numpy side of the .npy interop tests.

write DIR: writes arange(6).reshape(2, 3) in every dtype MedCIL reads, big endian included.
check DIR: loads the arrays MedCIL wrote (u1, f4, i8, u2) and checks shape, dtype and values.
"""
import os
import sys

import numpy as np


def write(folder):
    base = np.arange(6).reshape(2, 3)
    for name, dtype in [("u1", "<u1"), ("i1", "<i1"), ("u2", "<u2"), ("i2", "<i2"), ("be_i2", ">i2"), ("u4", "<u4"),
                        ("i4", "<i4"), ("i8", "<i8"), ("f4", "<f4"), ("be_f4", ">f4"), ("f8", "<f8")]:
        np.save(os.path.join(folder, name + ".npy"), base.astype(dtype))
    np.save(os.path.join(folder, "b1.npy"), (base % 2).astype(bool))


def check(folder):
    expected = np.arange(6).reshape(2, 3)
    for name, dtype in [("u1", np.uint8), ("f4", np.float32), ("i8", np.int64), ("u2", np.uint16)]:
        array = np.load(os.path.join(folder, name + ".npy"))
        assert array.dtype == dtype, (name, array.dtype)
        assert array.shape == (2, 3), (name, array.shape)
        assert (array == expected).all(), (name, array)
    print("ok 4")


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
