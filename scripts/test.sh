#!/usr/bin/env bash
# The whole test suite on a fresh machine: install the libraries, the Python references and
# the public test files, then build and run every test (optimised, with testability, because
# the numeric and end-to-end tests are slow in debug builds). Without arguments it also checks
# that MedCIL builds as a versioned dependency of another package (scripts/test-dependency.sh);
# arguments (e.g. --filter Suite) go to `swift test` and run only those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# Everything the tests write (temporary folders, and the state folders of conversions run
# without --state) goes under one folder per run, removed at the end, so that test runs leave
# nothing in /tmp or ~/.local/state. MEDCIL_KEEP_TEST_FILES=1 keeps it for inspection.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/medcil-test-run.XXXXXX")"
mkdir -p "$scratch/tmp" "$scratch/state"
if [ "${MEDCIL_KEEP_TEST_FILES:-0}" = 1 ]; then
  echo "test files kept in $scratch"
else
  trap 'rm -rf "$scratch"' EXIT
fi
export TMPDIR="$scratch/tmp" XDG_STATE_HOME="$scratch/state"
# Builds the library, the tests and the medcil executable the CLI tests run, in one build.
swift test -c release -Xswiftc -enable-testing "$@"
if [ "$#" -eq 0 ]; then scripts/test-dependency.sh; fi
