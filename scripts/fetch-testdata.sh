#!/usr/bin/env bash
# Fetches the public DICOM and NIfTI files the tests read (they are not committed):
#   pydicom and pydicom-data wheels (real echo/ultrasound cines, broken files, every syntax)
#   the nibabel wheel (big-endian, NIfTI-2, 4D files with slope/intercept)
# Wheels are zip files; nothing is installed. Result: .testdata/{pydicom,pydicom-data,nibabel}/
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .testdata/wheels
fetch() {  # name==version folder
  local spec=$1 folder=$2
  if [ -f ".testdata/$folder/.complete" ]; then return; fi
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest .testdata/wheels "$spec"
  local wheel
  wheel=$(ls .testdata/wheels/"$(echo "${spec%%==*}" | tr - _)"-"${spec##*==}"-*.whl | head -1)
  rm -rf ".testdata/$folder" && mkdir -p ".testdata/$folder"
  python3 -m zipfile -e "$wheel" ".testdata/$folder"
  touch ".testdata/$folder/.complete"
}
fetch pydicom==3.0.2 pydicom
fetch pydicom-data==1.0.0 pydicom-data
fetch nibabel==5.4.2 nibabel

# The 8x8 handwritten digits of scikit-learn (1797 real images), as .npy, for the convergence
# test: taken from the wheel's sklearn/datasets/data/digits.csv.gz.
if [ ! -f .testdata/digits/.complete ]; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: --dest .testdata/wheels scikit-learn==1.9.1
  python3 - <<'PY'
import glob, gzip, io, os, zipfile
import numpy as np
wheel = sorted(glob.glob(".testdata/wheels/scikit_learn-1.9.1-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    text = gzip.decompress(z.read("sklearn/datasets/data/digits.csv.gz")).decode()
data = np.loadtxt(io.StringIO(text), delimiter=",")
os.makedirs(".testdata/digits", exist_ok=True)
np.save(".testdata/digits/images.npy", data[:, :64].reshape(-1, 8, 8).astype(np.uint8))
np.save(".testdata/digits/labels.npy", data[:, 64].astype(np.int64))
open(".testdata/digits/.complete", "w").close()
PY
fi
echo "test data in .testdata/"
