#!/usr/bin/env bash
# Builds one libFuzzer harness (Fuzz/) and runs it for SECONDS seconds.
#
#   scripts/fuzz.sh TARGET SECONDS      (SECONDS 0: build only)
#
# TARGET: dicom-shim (C++: the DCMTK shim, Sources/CDicom), frames (Swift: FrameDecoder and
# its header checks), regions (Swift: ultrasound regions, timing, summary, header walk),
# nifti (Swift: NiftiFile with the CNIfTI shim). C/C++ is built with the Swift toolchain's
# clang (-fsanitize=fuzzer,address), Swift with swiftc -sanitize=fuzzer,address, in
# .build/fuzz/. The corpus (.build/fuzz/corpus-TARGET) starts from the real files the tests
# use (.testdata: pydicom, pydicom-data, nibabel) and fixtures/hostile, and grows across
# runs. A crash stops the run and leaves its input in .build/fuzz/crashes-TARGET/; turn it
# into a regression file in fixtures/hostile/ with a test (see fixtures/hostile/README.md).
# The last line of the log is libFuzzer's summary; executions per second are in its lines.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${1:?usage: scripts/fuzz.sh TARGET SECONDS (targets: dicom-shim frames regions nifti)}
SECONDS_TO_RUN=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
TOOLCHAIN=${SWIFT_TOOLCHAIN:-/opt/swift/usr/bin}
CLANG="$TOOLCHAIN/clang"
SWIFTC="$TOOLCHAIN/swiftc"
OUT=.build/fuzz
mkdir -p "$OUT/modules/CDicom" "$OUT/modules/CNIfTI"
ROOT=$(pwd)

DCMTK_LIBS=(-ldcmimage -ldcmimgle -ldcmjpeg -ldcmjpls -ldcmdata -loflog -lofstd)
SANITIZE_C=(-fsanitize=fuzzer-no-link,address -O1 -g)
SWIFT_FLAGS=(-O -g -sanitize=fuzzer,address -parse-as-library -swift-version 5)

# Module maps for the C shims, as SwiftPM generates them.
cat > "$OUT/modules/CDicom/module.modulemap" <<MAP
module CDicom { header "$ROOT/Sources/CDicom/include/cdicom.h" export * }
MAP
cat > "$OUT/modules/CNIfTI/module.modulemap" <<MAP
module CNIfTI { header "$ROOT/Sources/CNIfTI/include/cnifti.h" link "nifti2" link "znz" export * }
MAP

# swift_module NAME OBJECT SOURCES...: one instrumented module, as an object and a .swiftmodule.
swift_module() {
    local name=$1 object=$2; shift 2
    "$SWIFTC" "${SWIFT_FLAGS[@]}" -wmo -module-name "$name" -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
        -I "$OUT/modules" -Xcc -fmodule-map-file="$OUT/modules/CDicom/module.modulemap" \
        -Xcc -fmodule-map-file="$OUT/modules/CNIfTI/module.modulemap" -Xcc -I/usr/include/nifti \
        -c "$@" -o "$object"
}

build() {
    case "$TARGET" in
    dicom-shim)
        "$CLANG" -x c++ -std=c++17 "${SANITIZE_C[@]}" -fsanitize=fuzzer -I Sources/CDicom/include \
            Fuzz/dicom_shim.cpp Sources/CDicom/cdicom.cpp "${DCMTK_LIBS[@]}" -lstdc++ -o "$OUT/fuzz-dicom-shim"
        ;;
    frames | regions)
        "$CLANG" -x c++ -std=c++17 "${SANITIZE_C[@]}" -I Sources/CDicom/include -c Sources/CDicom/cdicom.cpp -o "$OUT/cdicom.o"
        swift_module ArrayFiles "$OUT/ArrayFiles.o" Sources/ArrayFiles/*.swift
        swift_module DicomIO "$OUT/DicomIO.o" Sources/DicomIO/*.swift
        local harness=Fuzz/FrameDecoderFuzz.swift
        [[ $TARGET == regions ]] && harness=Fuzz/UltrasoundRegionFuzz.swift
        "$SWIFTC" "${SWIFT_FLAGS[@]}" -I "$OUT/modules" -Xcc -fmodule-map-file="$OUT/modules/CDicom/module.modulemap" \
            "$harness" "$OUT/ArrayFiles.o" "$OUT/DicomIO.o" "$OUT/cdicom.o" \
            "${DCMTK_LIBS[@]}" -lstdc++ -o "$OUT/fuzz-$TARGET"
        ;;
    nifti)
        "$CLANG" "${SANITIZE_C[@]}" -I Sources/CNIfTI/include -I/usr/include/nifti -c Sources/CNIfTI/cnifti.c -o "$OUT/cnifti.o"
        swift_module ArrayFiles "$OUT/ArrayFiles.o" Sources/ArrayFiles/*.swift
        swift_module NiftiIO "$OUT/NiftiIO.o" Sources/NiftiIO/*.swift
        "$SWIFTC" "${SWIFT_FLAGS[@]}" -I "$OUT/modules" -Xcc -fmodule-map-file="$OUT/modules/CNIfTI/module.modulemap" \
            -Xcc -I/usr/include/nifti Fuzz/NiftiReaderFuzz.swift "$OUT/ArrayFiles.o" "$OUT/NiftiIO.o" "$OUT/cnifti.o" \
            -lnifti2 -lznz -lz -o "$OUT/fuzz-nifti"
        ;;
    *) echo "unknown target '$TARGET' (dicom-shim, frames, regions, nifti)" >&2; exit 2 ;;
    esac
}

# Seeds: real files up to 256 KiB (larger ones slow every execution down), and the hostile fixtures.
seed() {
    local corpus=$1; shift
    mkdir -p "$corpus"
    [[ -n $(ls -A "$corpus" 2>/dev/null) ]] && return
    find "$@" -type f -size -256k 2>/dev/null | while read -r file; do
        cp "$file" "$corpus/$(sha1sum "$file" | cut -c1-16)"
    done
}

build
if [[ $SECONDS_TO_RUN == 0 ]]; then echo "built $OUT/fuzz-$TARGET"; exit 0; fi
CORPUS="$OUT/corpus-$TARGET"
case "$TARGET" in
nifti) seed "$CORPUS" .testdata/nibabel/nibabel/tests/data fixtures/hostile/nifti ;;
*) seed "$CORPUS" .testdata/pydicom/pydicom/data/test_files .testdata/pydicom-data/data_store/data fixtures/hostile/dicom ;;
esac
CRASHES="$OUT/crashes-$TARGET/"
mkdir -p "$CRASHES"
echo "fuzzing $TARGET for $SECONDS_TO_RUN s; corpus $CORPUS ($(ls "$CORPUS" | wc -l) files), crashes to $CRASHES"
# malloc_limit_mb: a single allocation beyond it is reported as a crash, which is how a header
# that makes the reader allocate more than its limits allow shows up. The libraries reserve
# what a header declares before finding the file too short: DCMTK an element's length (up to 4
# GiB, the largest 32-bit length), libnifti an extension's esize (up to 2 GiB). The reservation
# is never touched (resident memory stays at a few MB; fixtures/hostile/dicom/dcmtk-oversized-element.dcm,
# fixtures/hostile/nifti/libnifti-oversized-extension.nii), so the limits sit above those sizes
# and the resident-memory limit (rss_limit_mb) is the one that applies to it.
# detect_leaks=0 for DICOM targets: DCMTK 3.6.7 leaks a few KB of its element tree on some
# malformed files (indirect leaks only, inside libdcmdata); that costs memory, not the batch.
MALLOC_LIMIT=4200 LEAKS=0
[[ $TARGET == nifti ]] && MALLOC_LIMIT=2100 LEAKS=1
export ASAN_OPTIONS="detect_leaks=$LEAKS${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
exec "$OUT/fuzz-$TARGET" "$CORPUS" -max_total_time="$SECONDS_TO_RUN" -max_len=262144 -rss_limit_mb=2048 \
    -malloc_limit_mb="$MALLOC_LIMIT" -timeout=20 -detect_leaks="$LEAKS" -artifact_prefix="$CRASHES" -print_final_stats=1
