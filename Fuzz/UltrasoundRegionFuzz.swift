// libFuzzer harness for the header parsing a conversion does before decoding (DicomIO:
// UltrasoundRegion, FrameTiming, DicomSummary, DicomItem.allValues) on arbitrary bytes.
// Built by scripts/fuzz.sh with swiftc -sanitize=fuzzer,address.

import DicomIO
import Foundation

private let scratch = "/dev/shm/medcil-fuzz-regions-\(getpid()).dcm"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUltrasoundRegions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let file = try? DicomFile(path: scratch) else { return 0 }
    for region in UltrasoundRegion.regions(in: file.dataset) {
        // What EchoCineProcessor asks of each region.
        _ = region.isInside(rows: 600, columns: 800)
        _ = region.isTissue2D
    }
    _ = FrameTiming(dataset: file.dataset).framesPerSecond
    _ = DicomSummary(file: file)
    _ = file.dataset.allValues()
    return 0
}
