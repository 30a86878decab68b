/// Why a NIfTI file could not be read or written; each case renders as one line for reports.
public enum NiftiError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is missing, truncated or not NIfTI.
    case unreadable(String)
    /// A datatype outside uint8, int8, int16, uint16, int32, uint32, float32, float64.
    case unsupportedDatatype(code: Int, name: String)
    /// The header is inconsistent (dimensions, affine, scaling).
    case badHeader(String)
    /// A size the header declares is beyond a `NiftiLimits` limit, or beyond 64 bits.
    case limitExceeded(String)
    /// The voxel values cannot be used as asked (a label volume with fractional values).
    case badValues(String)
    case writeFailed(String)

    public var description: String {
        switch self {
        case .unreadable(let why): return "unreadable NIfTI: \(why)"
        case .unsupportedDatatype(let code, let name):
            return "unsupported NIfTI datatype \(name) (code \(code)); MedCIL reads \(NiftiDatatype.allCases.map(\.name).joined(separator: ", "))"
        case .badHeader(let why): return "bad NIfTI header: \(why)"
        case .limitExceeded(let why): return "beyond the reader's limits: \(why)"
        case .badValues(let why): return "unusable voxel values: \(why)"
        case .writeFailed(let why): return "cannot write NIfTI: \(why)"
        }
    }
}
