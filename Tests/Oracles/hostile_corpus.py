#!/usr/bin/env python3
"""Writes a corpus of hostile DICOM and NIfTI files, crafted with pydicom and nibabel (and a
few raw byte edits where the libraries refuse to write nonsense), with a manifest of what
MedCIL's readers must say about each.

Each file is broken in one way a hospital export (or hostile software) can break a file:
sizes that overflow or ask for terabytes, fields out of range, payloads shorter than the
header promises, garbage codec streams, lying element lengths, deep nesting, NaN geometry,
bogus datatypes, offsets past the end, truncated gzip. The manifest's `expect` is a piece
of the one-line error the reader must give, written from the file's construction (not
from MedCIL's output); `stage` says where the error must come from: "open" (DicomFile /
NiftiFile), "decode" (FrameDecoder and its frames, or readImage / readLabels),
"orientation" (the affine: NaN spacing), "open-or-decode" (either: the library decides),
"reads" for oddities every reader accepts (they must read, with bounded memory), or "convert"
for files that read but must fail a conversion (the MR slice geometry).

DICOM files carry SeriesDescription "LVO 4CH", a label the phantom echo site D maps, so a
conversion gets past the label and has to read the pixels.

usage: hostile_corpus.py OUTDIR       writes OUTDIR/dicom/*, OUTDIR/nifti/*, OUTDIR/manifest.json
"""
import gzip
import warnings
import io
import json
import os
import struct
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless,
                         UltrasoundMultiFrameImageStorage)

MANIFEST = []


def note(kind, name, expect, stage):
    MANIFEST.append({"kind": kind, "file": f"{kind}/{name}", "expect": expect, "stage": stage})


# ---------------------------------------------------------------- DICOM

def base_dataset(rows=16, columns=16, frames=2, samples=1, photometric="MONOCHROME2", bits=8):
    """A small, valid US multi-frame dataset (no patient data: fixed dummy UIDs)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.SOPInstanceUID = "1.2.3.4.5.6.7.8.1"
    ds.StudyInstanceUID = "1.2.3.4.5.6.7.8.2"
    ds.SeriesInstanceUID = "1.2.3.4.5.6.7.8.3"
    ds.Modality = "US"
    ds.SeriesDescription = "LVO 4CH"
    ds.Rows = rows
    ds.Columns = columns
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.FrameTime = 20
    count = rows * columns * frames * samples * (bits // 8)
    ds.PixelData = bytes((k * 7) & 0xFF for k in range(count))
    return ds


def save(ds, out, name, expect, stage):
    path = os.path.join(out, "dicom", name)
    # A SOP Instance UID of its own, so that no conversion takes it for a duplicate.
    uid = f"1.2.3.4.5.6.7.8.1.{len(MANIFEST) + 1}"
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.save_as(path, enforce_file_format=False)
    note("dicom", name, expect, stage)
    return path


def write_bytes(out, kind, name, data, expect, stage):
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)
    note(kind, name, expect, stage)


def dicom_bytes(ds):
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


def dicom_corpus(out):
    # The file: US multi-frame 65535 x 65535 x 100000 frames x 3 samples, 1 KB of pixels.
    ds = base_dataset(rows=4, columns=4, frames=1, samples=3, photometric="RGB")
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = 100000
    ds.PixelData = bytes(1024)
    save(ds, out, "issue-us-65535x65535x100000x3.dcm", "max_pixels_per_frame", "decode")

    # Frames beyond the frame limit, small frames.
    ds = base_dataset(frames=1)
    ds.NumberOfFrames = 1000000
    save(ds, out, "frames-1000000.dcm", "max_frames", "decode")

    # NumberOfFrames too big for any integer type.
    ds = base_dataset()
    ds.NumberOfFrames = "99999999999999999999"
    save(ds, out, "frames-overflow.dcm", "NumberOfFrames", "decode")

    ds = base_dataset()
    ds.NumberOfFrames = "-5"
    save(ds, out, "frames-negative.dcm", "NumberOfFrames", "decode")

    # A long thin frame within the limits, with many frames: the payload is far short.
    ds = base_dataset(frames=1)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 1, 65535, 50000
    ds.PixelData = bytes(1024)
    save(ds, out, "payload-short-of-declared.dcm", "pixel data holds 0 frames", "decode")

    ds = base_dataset()
    ds.Rows = 0
    save(ds, out, "rows-zero.dcm", "is empty", "decode")

    ds = base_dataset()
    ds.Columns = 0
    save(ds, out, "columns-zero.dcm", "is empty", "decode")

    ds = base_dataset()
    ds.BitsAllocated = 0
    save(ds, out, "bits-allocated-zero.dcm", "BitsAllocated 0", "decode")

    ds = base_dataset()
    ds.BitsAllocated = 12
    save(ds, out, "bits-allocated-odd.dcm", "BitsAllocated 12", "decode")

    ds = base_dataset()
    ds.BitsStored = 16
    save(ds, out, "bits-stored-beyond-allocated.dcm", "BitsStored 16", "decode")

    ds = base_dataset()
    ds.SamplesPerPixel = 0
    save(ds, out, "samples-zero.dcm", "SamplesPerPixel 0", "decode")

    ds = base_dataset()
    ds.SamplesPerPixel = 65535
    save(ds, out, "samples-65535.dcm", "SamplesPerPixel 65535", "decode")

    ds = base_dataset()
    ds.PhotometricInterpretation = "HSV"
    save(ds, out, "photometric-hsv.dcm", "PhotometricInterpretation 'HSV'", "decode")

    ds = base_dataset(rows=16, columns=15, frames=1, samples=3, photometric="YBR_FULL_422")
    ds.PixelData = bytes(16 * 15 * 2)
    save(ds, out, "ybr422-odd-columns.dcm", "even number of columns", "decode")

    ds = base_dataset(frames=1)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    save(ds, out, "palette-without-lut.dcm", "Palette Color Lookup Table Descriptor", "decode")

    # Segmented palette: 4 KiB of linear segments of 65535 entries each would expand to 89 M entries.
    ds = base_dataset(frames=1)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for channel in ("Red", "Green", "Blue"):
        setattr(ds, f"{channel}PaletteColorLookupTableDescriptor", [256, 0, 16])
    words = [0, 1, 0]  # one discrete start value
    words += [1, 65535, 65535] * 1364
    data = struct.pack(f"<{len(words)}H", *words)
    ds.SegmentedRedPaletteColorLookupTableData = data
    ds.SegmentedGreenPaletteColorLookupTableData = data
    ds.SegmentedBluePaletteColorLookupTableData = data
    save(ds, out, "palette-segmented-bomb.dcm", "more than 65536 entries", "decode")

    ds = base_dataset(frames=4)
    ds.PixelData = ds.PixelData[:100]
    save(ds, out, "pixel-data-short.dcm", "pixel data holds 0 frames", "decode")

    ds = base_dataset(frames=2)
    ds.NumberOfFrames = 40
    save(ds, out, "frames-beyond-data.dcm", "NumberOfFrames is 40 but the pixel data holds 2 frames", "decode")

    ds = base_dataset(frames=1)
    del ds.PixelData
    save(ds, out, "no-pixel-data.dcm", "no pixel data", "decode")

    # Garbage codec streams.
    ds = base_dataset(rows=16, columns=16, frames=1, samples=3, photometric="YBR_FULL_422")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    junk = bytes([0xFF, 0xD8]) + bytes((k * 37 + 11) & 0xFF for k in range(600))
    ds.PixelData = encapsulate([junk])
    ds["PixelData"].VR = "OB"
    save(ds, out, "jpeg-garbage.dcm", "cannot decode frame 0", "decode")

    ds = base_dataset(rows=16, columns=16, frames=1)
    ds.file_meta.TransferSyntaxUID = RLELossless
    header = struct.pack("<16I", 15, *([64 + 4 * k for k in range(15)]))
    ds.PixelData = encapsulate([header + bytes((k * 13) & 0xFF for k in range(200))])
    ds["PixelData"].VR = "OB"
    save(ds, out, "rle-garbage.dcm", "cannot decode frame 0", "decode")

    ds = base_dataset(rows=16, columns=16, frames=1)
    ds.file_meta.TransferSyntaxUID = RLELossless
    header = struct.pack("<16I", 1, 0x7FFFFFF0, *([0] * 14))
    ds.PixelData = encapsulate([header + bytes(32)])
    ds["PixelData"].VR = "OB"
    save(ds, out, "rle-offset-past-end.dcm", "cannot decode frame 0", "decode")

    ds = base_dataset(rows=16, columns=16, frames=3, samples=3, photometric="YBR_FULL_422")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([b"\x00\x01not a jpeg"])
    ds["PixelData"].VR = "OB"
    save(ds, out, "jpeg-one-fragment-for-3-frames.dcm", "NumberOfFrames is 3 but the pixel data holds 1 frames", "decode")

    # Deeply nested sequences (10000 levels) in the ultrasound region sequence, written as raw
    # undefined-length sequences and items (pydicom itself recurses too deep to write them).
    # DCMTK parses nesting recursively: this file overflowed the stack (signal 11).
    ds = base_dataset(frames=1)
    ds.NumberOfFrames = 9
    raw = dicom_bytes(ds)
    at = raw.index(struct.pack("<HH", 0x0020, 0x000D) + b"UI")
    open_level = struct.pack("<HH2sHI", 0x0018, 0x6011, b"SQ", 0, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    close_level = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    nested = open_level * 10000 + close_level * 10000
    write_bytes(out, "dicom", "nested-sequences-10000.dcm", raw[:at] + nested + raw[at:],
                "sequences nest more than 64 levels deep", "open")

    # The same nesting never closed: the rest of the file, pixel data included, falls inside it.
    good = dicom_bytes(base_dataset(frames=1))
    at = good.index(struct.pack("<HH", 0x0020, 0x000D) + b"UI")
    write_bytes(out, "dicom", "nested-unterminated.dcm", good[:at] + open_level * 2000 + good[at:],
                "sequences nest more than 64 levels deep", "open")

    # Lying element lengths: an element after the meta header claims 4 GiB - 16 bytes.
    lying = bytearray(good)
    tag = struct.pack("<HH", 0x0008, 0x103E) + b"LO"   # SeriesDescription, explicit VR LO
    at = lying.index(tag)
    lying[at + 6:at + 8] = struct.pack("<H", 0xFFF0)
    write_bytes(out, "dicom", "lying-short-length.dcm", bytes(lying), "", "open")
    lying = bytearray(good)
    pixel_tag = struct.pack("<HH", 0x7FE0, 0x0010) + b"OB"
    at = lying.index(pixel_tag)
    lying[at + 8:at + 12] = struct.pack("<I", 0xFFFFFFF0)
    write_bytes(out, "dicom", "lying-pixel-data-length.dcm", bytes(lying), "", "open")

    # Truncated in the middle of the dataset.
    write_bytes(out, "dicom", "truncated-in-dataset.dcm", good[:300], "", "open")
    write_bytes(out, "dicom", "empty.dcm", b"", "the file is empty", "open")
    write_bytes(out, "dicom", "not-dicom.dcm", b"Patient list, not an image\n" * 20, "not a DICOM file", "open")
    write_bytes(out, "dicom", "preamble-only.dcm", bytes(128) + b"DICM", "", "open")


# ---------------------------------------------------------------- NIfTI

def nifti_image(shape=(8, 8, 4), dtype=np.int16):
    data = (np.arange(np.prod(shape)) % 200).astype(dtype).reshape(shape)
    affine = np.diag([1.5, 1.5, 3.0, 1.0])
    image = nib.Nifti1Image(data, affine)
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    return image


def nifti_bytes(image):
    return image.header.binaryblock + bytes(4) + np.asanyarray(image.dataobj).tobytes(order="F")


def patched(raw, offset, fmt, *values):
    data = bytearray(raw)
    data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    return bytes(data)


# NIfTI-1 header offsets (little endian).
DIM, DATATYPE, BITPIX, PIXDIM, VOX_OFFSET, SCL_SLOPE, SCL_INTER = 40, 70, 72, 76, 108, 112, 116


def nifti_corpus(out):
    good = nifti_bytes(nifti_image())

    def write(name, data, expect, stage, compress=False):
        write_bytes(out, "nifti", name, gzip.compress(data, mtime=0) if compress else data, expect, stage)

    # The files.
    write("cube-30000-float32.nii", patched(patched(good, DIM, "<8h", 3, 30000, 30000, 30000, 1, 1, 1, 1),
                                            DATATYPE, "<hh", 16, 32), "max_bytes_per_volume", "decode")
    write("dims7-32767.nii", patched(good, DIM, "<8h", 7, *([32767] * 7)), "overflows", "decode")
    # The same promises in gzip streams.
    write("cube-30000-float32.nii.gz", patched(patched(good, DIM, "<8h", 3, 30000, 30000, 30000, 1, 1, 1, 1),
                                               DATATYPE, "<hh", 16, 32), "max_bytes_per_volume", "decode", compress=True)
    write("dims7-32767.nii.gz", patched(good, DIM, "<8h", 7, *([32767] * 7)), "overflows", "decode", compress=True)
    # Within the limit (2 GiB), but the gzip stream holds 512 bytes of voxels.
    write("gzip-promises-2gib.nii.gz", patched(patched(good, DIM, "<8h", 3, 1024, 1024, 512, 1, 1, 1, 1),
                                              DATATYPE, "<hh", 16, 32), "gzip stream ends early", "decode", compress=True)
    # 1024 x 1024 x 256 float32 (1 GiB) in an uncompressed file of 864 bytes.
    write("uncompressed-promises-1gib.nii", patched(patched(good, DIM, "<8h", 3, 1024, 1024, 256, 1, 1, 1, 1),
                                                   DATATYPE, "<hh", 16, 32), "truncated", "decode")

    write("dim-zero.nii", patched(good, DIM, "<8h", 3, 0, 8, 4, 1, 1, 1, 1), "", "open")
    write("dim-negative.nii", patched(good, DIM, "<8h", 3, -8, 8, 4, 1, 1, 1, 1), "", "open")
    write("dim0-zero.nii", patched(good, DIM, "<8h", 0, 8, 8, 4, 1, 1, 1, 1), "", "open")
    write("dim0-nine.nii", patched(good, DIM, "<8h", 9, 8, 8, 4, 1, 1, 1, 1), "", "open")
    write("datatype-bogus.nii", patched(good, DATATYPE, "<hh", 9999, 16), "", "open-or-decode")
    write("datatype-complex64.nii", patched(good, DATATYPE, "<hh", 32, 64), "COMPLEX64", "decode")
    # bitpix disagreeing with the datatype: libnifti and nibabel take the size from the
    # datatype, and so does MedCIL; the file must read, as the good one does.
    write("bitpix-lies.nii", patched(good, BITPIX, "<h", 64), "", "reads")
    write("vox-offset-past-end.nii", patched(good, VOX_OFFSET, "<f", 1.0e9), "truncated", "decode")
    write("vox-offset-past-end.nii.gz", patched(good, VOX_OFFSET, "<f", 1.0e9), "", "open-or-decode", compress=True)
    write("vox-offset-negative.nii", patched(good, VOX_OFFSET, "<f", -4096.0), "", "open-or-decode")
    write("vox-offset-nan.nii", patched(good, VOX_OFFSET, "<f", float("nan")), "", "open-or-decode")
    write("scl-inter-infinite.nii", patched(good, SCL_SLOPE, "<ff", 2.0, float("inf")), "scl_inter", "decode")
    write("truncated-voxels.nii", good[:500], "truncated", "decode")
    write("truncated-header.nii", good[:100], "ends inside the 348-byte header", "open")
    write("truncated-gzip.nii.gz", gzip.compress(good, mtime=0)[:-40], "", "open-or-decode")
    write("gzip-garbage.nii.gz", b"\x1f\x8b\x08\x00" + bytes((k * 29) & 0xFF for k in range(2000)), "", "open")
    write("not-nifti.nii", b"subject list\n" * 40, "not a NIfTI-1 or NIfTI-2 file", "open")
    write("no-magic.nii", patched(good, 344, "4s", b"\0\0\0\0"), "no NIfTI magic", "open")

    # NaN spacing: every pixdim and srow NaN; no usable orientation.
    nan = float("nan")
    data = patched(good, PIXDIM, "<8f", 1.0, nan, nan, nan, 1, 1, 1, 1)
    data = patched(data, 280, "<12f", *([nan] * 12))
    write("spacing-nan.nii", data, "", "orientation")

    # Voxels of 1e30 mm: readable, but resampling slices to the converter's spacing would
    # ask for 8e30 pixels a side (it trapped converting Double to Int and ended the batch).
    huge = np.diag([1e30, 1e30, 1e30, 1.0])
    # Values 0 and 1: usable both as an image and as its own label volume (phantom MR site B
    # maps label 1), so that a conversion gets as far as the slice geometry.
    blocks = np.zeros((16, 16, 8), np.uint8)
    blocks[4:12, 4:12, 2:6] = 1
    spaced = nib.Nifti1Image(blocks, huge)
    spaced.header.set_sform(huge, code=1)
    spaced.header.set_qform(huge, code=1)
    write("spacing-1e30mm.nii", nifti_bytes(spaced), "slices beyond 16384 pixels a side", "convert")

    # An extension that claims 2 GiB in a file of 900 bytes: libnifti skips the extensions it
    # cannot read (nibabel too), so the volume must read, without a 2 GiB allocation.
    ext = bytearray(good)
    ext[348:352] = b"\x01\0\0\0"
    ext = bytes(ext[:352]) + struct.pack("<ii", 0x7FFFFFF0, 6) + b"x" * 8 + bytes(ext[352:])
    write("extension-2gib.nii", patched(ext, VOX_OFFSET, "<f", 368.0), "", "reads")

    # NIfTI-2 with 64-bit dims of 2^40 each.
    image2 = nib.Nifti2Image(np.zeros((4, 4, 4), np.uint8), np.eye(4))
    raw2 = image2.header.binaryblock + bytes(4) + bytes(64)
    write("nifti2-dims-2pow40.nii", patched(raw2, 16, "<8q", 3, 1 << 40, 1 << 40, 1 << 40, 1, 1, 1, 1), "", "open-or-decode")


def main():
    warnings.filterwarnings("ignore")  # pydicom warns about every value it is asked to break
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "dicom"), exist_ok=True)
    os.makedirs(os.path.join(out, "nifti"), exist_ok=True)
    dicom_corpus(out)
    nifti_corpus(out)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
    print(len(MANIFEST))


if __name__ == "__main__":
    main()
