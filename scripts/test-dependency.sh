#!/usr/bin/env bash
# MedCIL as a versioned dependency: snapshots the working tree (tracked and untracked files
# git does not ignore) into a fresh repository tagged 1.0.0, then builds and runs
# Examples/ShardReader against it with `.package(url:, from: "1.0.0")`. SwiftPM refuses
# versioned dependencies that use unsafe build flags, so this fails if any come back; the
# example then converts a phantom site and reads its shards through the library products.
# Debug build, a few minutes. Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/medcil-dependency.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The snapshot (SwiftPM names the dependency after this folder; the example derives it from the URL).
snapshot="$work/medcil-snapshot"
mkdir -p "$snapshot"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
  # Deleted but not yet staged files are listed yet absent.
  if [ -e "$file" ]; then mkdir -p "$snapshot/$(dirname "$file")"; cp -p "$file" "$snapshot/$file"; fi
done
git -C "$snapshot" init -q
git -C "$snapshot" add -A
git -C "$snapshot" -c user.name=medcil-test -c user.email=medcil-test@localhost commit -q -m "snapshot for the dependency test"
git -C "$snapshot" tag 1.0.0

cp -R Examples/ShardReader "$work/ShardReader"
rm -rf "$work/ShardReader/.build"
cd "$work/ShardReader"
export MEDCIL_URL="file://$snapshot"
swift build --product shard-reader
mkdir -p "$work/run"
"$(swift build --product shard-reader --show-bin-path)/shard-reader" "$root/converters/phantom-echo-a.yaml" "$work/run"
echo "test-dependency: MedCIL 1.0.0 (working tree) builds and runs as a versioned dependency"
