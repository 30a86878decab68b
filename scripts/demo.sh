#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build in release, run the demo
# on the embedded phantom data. Extra arguments go to `medcil demo` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product medcil
.build/release/medcil demo "$@"
