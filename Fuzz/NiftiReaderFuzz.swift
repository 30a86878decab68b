// libFuzzer harness for the NIfTI reader (NiftiIO with the CNIfTI shim and libnifti2) on
// arbitrary bytes: header, affine and orientation, voxels as image (reoriented to RAS+) and as labels. Inputs that
// start with the gzip magic are read as .nii.gz, others as .nii. Built by scripts/fuzz.sh with
// swiftc -sanitize=fuzzer,address.

import Foundation
import NiftiIO

private let scratchPlain = "/dev/shm/medcil-fuzz-nifti-\(getpid()).nii"
private let scratchGzip = "/dev/shm/medcil-fuzz-nifti-\(getpid()).nii.gz"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNiftiReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let gzip = size >= 2 && data[0] == 0x1F && data[1] == 0x8B
    let path = gzip ? scratchGzip : scratchPlain
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    // The limit bounds the fuzzer's allocations as it bounds a conversion's.
    guard let file = try? NiftiFile(path: path, limits: NiftiLimits(maxBytesPerVolume: 64 << 20)) else { return 0 }
    _ = try? AxisOrientation(affine: file.header.affine)
    if let image = try? file.readImage() { _ = try? image.canonical() }
    _ = try? file.readLabels()
    return 0
}
