#!/usr/bin/env python3
"""Independent reference for `medcil dicom info --json`: the same header facts read with
pydicom 3. Prints one JSON object.
usage: pydicom_header.py DICOM
"""
import json
import sys

import pydicom


def number(value):
    return None if value is None or value == "" else float(value)


def main(path):
    ds = pydicom.dcmread(path, force=True)
    meta = getattr(ds, "file_meta", None)
    regions = []
    for item in getattr(ds, "SequenceOfUltrasoundRegions", []):
        regions.append({
            "minX0": int(item.RegionLocationMinX0), "minY0": int(item.RegionLocationMinY0),
            "maxX1": int(item.RegionLocationMaxX1), "maxY1": int(item.RegionLocationMaxY1),
            "spatialFormat": int(item.RegionSpatialFormat) if "RegionSpatialFormat" in item else None,
            "dataType": int(item.RegionDataType) if "RegionDataType" in item else None,
            "physicalDeltaX": number(getattr(item, "PhysicalDeltaX", None)),
            "physicalDeltaY": number(getattr(item, "PhysicalDeltaY", None)),
            "fieldCount": len(item),
        })
    frames = getattr(ds, "NumberOfFrames", None)
    out = {
        "transferSyntax": str(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None,
        "rows": int(ds.Rows) if "Rows" in ds else None,
        "columns": int(ds.Columns) if "Columns" in ds else None,
        "numberOfFrames": int(frames) if frames not in (None, "") else None,
        "samplesPerPixel": int(ds.SamplesPerPixel) if "SamplesPerPixel" in ds else None,
        "bitsAllocated": int(ds.BitsAllocated) if "BitsAllocated" in ds else None,
        "bitsStored": int(ds.BitsStored) if "BitsStored" in ds else None,
        "photometricInterpretation": str(ds.PhotometricInterpretation) if "PhotometricInterpretation" in ds else None,
        "planarConfiguration": int(ds.PlanarConfiguration) if "PlanarConfiguration" in ds else None,
        "patientID": str(ds.PatientID) if ds.get("PatientID") else None,
        "studyInstanceUID": str(ds.StudyInstanceUID) if "StudyInstanceUID" in ds else None,
        "seriesInstanceUID": str(ds.SeriesInstanceUID) if "SeriesInstanceUID" in ds else None,
        "sopInstanceUID": str(ds.SOPInstanceUID) if "SOPInstanceUID" in ds else None,
        "frameTime": number(ds.get("FrameTime")),
        "cineRate": number(ds.get("CineRate")),
        "frameTimeVectorLength": len(ds.FrameTimeVector) if "FrameTimeVector" in ds else None,
        "regions": regions,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
