// libFuzzer harness for the Swift frame decoding path (DicomIO: DicomFile, PixelModule,
// FrameDecoder, PaletteLUT) on arbitrary bytes. Built by scripts/fuzz.sh with
// swiftc -sanitize=fuzzer,address; any trap (overflow, bounds) or sanitizer report is a crash.

import DicomIO
import Foundation

private let scratch = "/dev/shm/medcil-fuzz-frames-\(getpid()).dcm"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)) else { return 0 }
    do {
        let decoder = try FrameDecoder(file: DicomFile(path: scratch))
        // A few frames: the first, the last and one in the middle, as a conversion samples them.
        for frame in Set([0, decoder.frameCount / 2, decoder.frameCount - 1]) {
            _ = try decoder.decode(frame: frame)
        }
    } catch {
        _ = error.localizedDescription
    }
    return 0
}
