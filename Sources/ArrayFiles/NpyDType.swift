/// The element types MedCIL reads and writes in `.npy` files, with NumPy's type strings.
///
/// Shards are written little endian (`<`); big-endian arrays (`>`) are accepted on read
/// and swapped to host order.
public enum NpyDType: String, Sendable, CaseIterable, Codable {
    case bool
    case uint8
    case int8
    case uint16
    case int16
    case uint32
    case int32
    case int64
    case float32
    case float64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .int64, .float64: return 8
        }
    }

    /// NumPy's `descr` for a little-endian array of this type (`'|u1'`, `'<f4'`, ...).
    public var descr: String {
        switch self {
        case .bool: return "|b1"
        case .uint8: return "|u1"
        case .int8: return "|i1"
        case .uint16: return "<u2"
        case .int16: return "<i2"
        case .uint32: return "<u4"
        case .int32: return "<i4"
        case .int64: return "<i8"
        case .float32: return "<f4"
        case .float64: return "<f8"
        }
    }

    /// Parses a NumPy `descr`; returns the type and whether its bytes are big endian.
    public static func parse(descr: String) -> (NpyDType, bigEndian: Bool)? {
        guard descr.count >= 3 else { return nil }
        let order = descr.first!
        let code = String(descr.dropFirst())
        let bigEndian = order == ">"
        guard order == "<" || order == ">" || order == "|" || order == "=" else { return nil }
        let table: [String: NpyDType] = [
            "b1": .bool, "u1": .uint8, "i1": .int8, "u2": .uint16, "i2": .int16,
            "u4": .uint32, "i4": .int32, "i8": .int64, "f4": .float32, "f8": .float64,
        ]
        guard let type = table[code] else { return nil }
        return (type, bigEndian && type.size > 1)
    }
}
