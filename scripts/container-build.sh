#!/usr/bin/env bash
# Builds the MedCIL container image (Dockerfile) with Docker or Podman, whichever is installed
# and has a working daemon/runtime; first checks that the runtime stage's library packages
# cover what a locally built binary links. Usage: scripts/container-build.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-medcil:latest}"
engine=""
for candidate in docker podman; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" info >/dev/null 2>&1; then engine="$candidate"; break; fi
done
if [ -z "$engine" ]; then
    echo "container-build: neither docker nor podman is installed with a working engine here; nothing built" >&2
    exit 1
fi
binary=".build/release/medcil"
if [ -x "$binary" ]; then scripts/check-container-libs.sh "$binary"; fi
"$engine" build --target runtime -t "$tag" .
"$engine" run --rm "$tag" convert --help >/dev/null
echo "built $tag with $engine"
