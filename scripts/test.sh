#!/usr/bin/env bash
# The whole test suite on a fresh machine: install the libraries, the Python references and
# the public test files, then build and run every test (optimised, with testability, because
# the numeric and end-to-end tests are slow in debug builds). Without arguments it also checks
# that MedCIL builds as a versioned dependency of another package (scripts/test-dependency.sh);
# arguments (e.g. --filter Suite) go to `swift test` and run only those tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# Builds the library, the tests and the medcil executable the CLI tests run, in one build.
swift test -c release -Xswiftc -enable-testing "$@"
if [ "$#" -eq 0 ]; then scripts/test-dependency.sh; fi
