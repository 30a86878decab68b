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
echo "test data in .testdata/"
