import Foundation

/// The header of a `.npy` file (NumPy format 1.0, or 2.0 when the header is long).
///
/// Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length
/// (uint16 little endian in 1.0, uint32 in 2.0), then a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a
/// newline so that the data starts on a 64-byte boundary, as `numpy.save` writes it.
public struct NpyHeader: Equatable, Sendable {
    public var dtype: NpyDType
    public var shape: [Int]
    public var fortranOrder: Bool
    /// Whether the stored bytes are big endian (read only; MedCIL writes little endian).
    public var bigEndian: Bool
    /// Byte offset of the first element.
    public var dataOffset: Int

    public init(dtype: NpyDType, shape: [Int], fortranOrder: Bool = false) {
        self.dtype = dtype
        self.shape = shape
        self.fortranOrder = fortranOrder
        self.bigEndian = false
        self.dataOffset = 0
        self.dataOffset = encoded().count
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of data bytes that follow the header.
    public var byteCount: Int { count * dtype.size }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The header bytes, padded so that the data is 64-byte aligned.
    public func encoded() -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = "{'descr': '\(dtype.descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        var version: UInt8 = 1
        var prefix = 10
        var total = prefix + dict.utf8.count + 1
        if (total + 63) / 64 * 64 - prefix > Int(UInt16.max) {
            version = 2
            prefix = 12
            total = prefix + dict.utf8.count + 1
        }
        let padded = (total + 63) / 64 * 64
        let headerText = dict + String(repeating: " ", count: padded - total) + "\n"
        var data = Data(Self.magic)
        data.append(version)
        data.append(0)
        let length = headerText.utf8.count
        if version == 1 {
            data.append(UInt8(length & 0xFF))
            data.append(UInt8(length >> 8))
        } else {
            for shift in stride(from: 0, to: 32, by: 8) { data.append(UInt8((length >> shift) & 0xFF)) }
        }
        data.append(contentsOf: Array(headerText.utf8))
        return data
    }

    /// Parses a header from the start of `bytes`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> NpyHeader {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw ArrayFileError.malformed("not a .npy file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let lengthBytes = major == 1 ? 2 : 4
        guard major >= 1 && major <= 3 else { throw ArrayFileError.malformed("unsupported .npy version \(major)") }
        let start = 8 + lengthBytes
        guard bytes.count >= start else { throw ArrayFileError.malformed("truncated .npy header") }
        var length = 0
        for k in 0..<lengthBytes { length |= Int(bytes[8 + k]) << (8 * k) }
        guard bytes.count >= start + length else { throw ArrayFileError.malformed("truncated .npy header") }
        guard let text = String(bytes: bytes[start..<(start + length)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw ArrayFileError.malformed("unreadable .npy header")
        }
        guard let descr = Self.value(of: "descr", in: text)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")),
              let (dtype, bigEndian) = NpyDType.parse(descr: descr) else {
            throw ArrayFileError.unsupported("unsupported .npy dtype in header: \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard let fortran = Self.value(of: "fortran_order", in: text), let shapeText = Self.value(of: "shape", in: text) else {
            throw ArrayFileError.malformed("incomplete .npy header: \(text)")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for dim in dims {
            guard let value = Int(dim.hasSuffix("L") ? String(dim.dropLast()) : dim), value >= 0 else {
                throw ArrayFileError.malformed("bad shape in .npy header: \(shapeText)")
            }
            shape.append(value)
        }
        var header = NpyHeader(dtype: dtype, shape: shape, fortranOrder: fortran == "True")
        header.bigEndian = bigEndian
        header.dataOffset = start + length
        return header
    }

    /// Extracts the raw text of a key's value from the header dict.
    private static func value(of key: String, in text: String) -> String? {
        guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else { return nil }
        var rest = text[keyRange.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[rest.startIndex...close])
        }
        let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
        return String(rest[..<end]).trimmingCharacters(in: .whitespaces)
    }
}

/// Errors from reading or writing array files.
public enum ArrayFileError: Error, CustomStringConvertible, Equatable {
    case malformed(String)
    case unsupported(String)
    case io(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .malformed(let why), .unsupported(let why), .io(let why), .mismatch(let why): return why
        }
    }
}
