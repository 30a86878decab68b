/// Why a DICOM file could not be read or decoded. Each case renders as one line that
/// names the problem, so conversion reports can quote it as the file's fate.
public enum DicomError: Error, CustomStringConvertible, Equatable, Sendable {
    /// DCMTK could not be set up (e.g. its data dictionary is missing).
    case library(String)
    /// The file does not look like DICOM at all.
    case notDicom(String)
    /// DCMTK could not parse the file (truncated, corrupt).
    case unreadable(String)
    /// The dataset has no Pixel Data element.
    case noPixelData
    /// Pixel data in a transfer syntax this build cannot decode.
    case unsupportedTransferSyntax(uid: String, name: String)
    /// The image pixel module is inconsistent (bad NumberOfFrames, sizes, photometric).
    case badPixelModule(String)
    /// A size the header declares is beyond a `DicomLimits` limit (the message names it).
    case limitExceeded(String)
    /// Decoding one frame failed.
    case decodeFailed(frame: Int, reason: String)
    /// Writing a file failed.
    case writeFailed(String)

    public var description: String {
        switch self {
        case .library(let why): return "DICOM library: \(why)"
        case .notDicom(let why): return "not a DICOM file: \(why)"
        case .unreadable(let why): return "unreadable DICOM: \(why)"
        case .noPixelData: return "no pixel data (PixelData (7FE0,0010) is missing)"
        case .unsupportedTransferSyntax(let uid, let name):
            return "unsupported transfer syntax \(name) (\(uid)): DCMTK \(DicomLibrary.dcmtkVersion) cannot decode it; convert the file (e.g. with gdcmconv --raw) first"
        case .badPixelModule(let why): return "bad image pixel module: \(why)"
        case .limitExceeded(let why): return "beyond the reader's limits: \(why)"
        case .decodeFailed(let frame, let why): return "cannot decode frame \(frame): \(why)"
        case .writeFailed(let why): return "cannot write DICOM: \(why)"
        }
    }
}
