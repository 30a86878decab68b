import CDicom
import Foundation

/// One-time set-up of DCMTK: registers the JPEG, JPEG-LS and RLE codecs, quiets DCMTK's
/// own logger (errors reach callers as `DicomError`s instead) and checks that the data
/// dictionary is there. Every entry point of this module calls `ensureInitialized()`.
public enum DicomLibrary {
    private static let result: Result<Void, DicomError> = {
        // MEDCIL_DCMTK_LOG=0...6 (trace ... off) shows DCMTK's own messages when debugging.
        let level = ProcessInfo.processInfo.environment["MEDCIL_DCMTK_LOG"].flatMap(Int32.init) ?? 6
        var error = [CChar](repeating: 0, count: 512)
        if mdc_global_init(level, &error, error.count) != Int32(MDC_OK) {
            return .failure(.library(String(cString: error)))
        }
        return .success(())
    }()

    public static func ensureInitialized() throws(DicomError) {
        try result.get()
    }

    /// DCMTK's version, e.g. "3.6.7".
    public static var dcmtkVersion: String { String(cString: mdc_dcmtk_version()) }
}
