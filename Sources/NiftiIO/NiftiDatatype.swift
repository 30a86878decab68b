import CNIfTI

/// The voxel datatypes MedCIL reads (NIfTI `datatype` codes). Others (complex, RGB, 64-bit
/// integers, float128, binary) are refused with an error that names the datatype: silently
/// converting them would lose information or invent intensities.
public enum NiftiDatatype: Int, CaseIterable, Sendable, Codable {
    case uint8 = 2
    case int16 = 4
    case int32 = 8
    case float32 = 16
    case float64 = 64
    case int8 = 256
    case uint16 = 512
    case uint32 = 768

    /// Bytes per voxel.
    public var size: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }

    /// Lower-case name as numpy spells the type (`int16`, `float32`).
    public var name: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .int16: return "int16"
        case .uint16: return "uint16"
        case .int32: return "int32"
        case .uint32: return "uint32"
        case .float32: return "float32"
        case .float64: return "float64"
        }
    }

    public var isInteger: Bool { self != .float32 && self != .float64 }

    /// The datatype of a code, or the error naming an unsupported one (libnifti's name for it).
    public static func from(code: Int) throws(NiftiError) -> NiftiDatatype {
        guard let type = NiftiDatatype(rawValue: code) else {
            throw .unsupportedDatatype(code: code, name: codeName(code))
        }
        return type
    }

    /// libnifti's name of any datatype code (`INT16`, `COMPLEX64`, `RGB24`, `ILLEGAL`).
    public static func codeName(_ code: Int) -> String {
        String(cString: nifti_datatype_string(Int32(truncatingIfNeeded: code)))
    }
}
