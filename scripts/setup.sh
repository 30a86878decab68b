#!/usr/bin/env bash
# Installs what MedCIL needs on a fresh Debian 12 machine with the Swift toolchain:
#   always:   the C libraries (DCMTK, libnifti2, OpenBLAS) and DCMTK's command-line tools
#   --test:   also the Python packages the tests use as independent references
#             (never needed to run MedCIL itself), and the public test files
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

apt_packages=(libdcmtk-dev dcmtk libnifti2-dev libopenblas-dev pkg-config)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$with_tests" -eq 1 ]; then
  # References for the tests and the benchmark peers (python/requirements.txt): pydicom (+ Pillow,
  # pylibjpeg, pyjpegls for compressed syntaxes), numpy to open every output, nibabel for NIfTI,
  # safetensors (+ PyTorch, below) for checkpoints.
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r python/requirements.txt
  # PyTorch reads and writes checkpoints in the interop tests (the goldens are committed, so only
  # those need it). A CPU-only wheel where the machine provides one (pip's find-links folder
  # /opt/wheels); PyPI's default wheel otherwise.
  if ! python3 -c "import torch" 2>/dev/null; then
    cpu_wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -n 1 || true)
    echo "setup: installing PyTorch ${cpu_wheel:+($(basename "$cpu_wheel"))}"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${cpu_wheel:-torch}"
  fi
  scripts/fetch-testdata.sh
fi
echo "setup: done"
