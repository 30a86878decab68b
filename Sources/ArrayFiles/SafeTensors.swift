import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to its dtype, shape and byte range (plus an optional
/// "__metadata__" of strings), then the raw little-endian data. PyTorch reads it with
/// `safetensors.torch.load_file`.
public struct SafeTensors: Sendable {
    public enum DType: String, Sendable, Codable {
        case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL

        public var size: Int {
            switch self {
            case .F64, .I64: return 8
            case .F32, .I32: return 4
            case .F16, .BF16, .I16: return 2
            case .I8, .U8, .BOOL: return 1
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Element bytes, little endian.
        public var data: Data

        public init(dtype: DType, shape: [Int], data: Data) {
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        public init(_ values: [Float], shape: [Int]) {
            self.init(dtype: .F32, shape: shape, data: values.withUnsafeBytes { Data($0) })
        }

        /// Elements as Float (F32, F64, I64 and I32 are converted).
        public func floats() throws -> [Float] {
            switch dtype {
            case .F32: return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            case .F64: return data.withUnsafeBytes { $0.bindMemory(to: Double.self).map { Float($0) } }
            case .I64: return data.withUnsafeBytes { $0.bindMemory(to: Int64.self).map { Float($0) } }
            case .I32: return data.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Float($0) } }
            default: throw ArrayFileError.unsupported("safetensors dtype \(dtype.rawValue) cannot be read as float")
            }
        }
    }

    public var tensors: [String: Entry]
    public var metadata: [String: String]

    public init(tensors: [String: Entry] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The file bytes: tensors in name order, header padded with spaces to 8 bytes.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            guard entry.data.count == entry.shape.reduce(1, *) * entry.dtype.size else {
                throw ArrayFileError.mismatch("safetensors entry \(name): \(entry.data.count) bytes for \(entry.shape) \(entry.dtype.rawValue)")
            }
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.data.count]]
            offset += entry.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names { out.append(tensors[name]!.data) }
        return out
    }

    public static func decode(_ bytes: Data) throws -> SafeTensors {
        guard bytes.count >= 8 else { throw ArrayFileError.malformed("safetensors file shorter than its header length") }
        let length = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(bytes.count - 8) else { throw ArrayFileError.malformed("safetensors header length \(length) beyond the file") }
        let start = bytes.startIndex + 8
        let headerData = bytes[start..<(start + Int(length))]
        guard let header = try JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw ArrayFileError.malformed("safetensors header is not a JSON object")
        }
        let dataStart = start + Int(length)
        var result = SafeTensors()
        for (name, value) in header {
            if name == "__metadata__" {
                result.metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String, let dtype = DType(rawValue: dtypeName),
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[0] >= 0, offsets[1] >= offsets[0], dataStart + offsets[1] <= bytes.endIndex else {
                throw ArrayFileError.malformed("safetensors entry \(name) is malformed")
            }
            guard offsets[1] - offsets[0] == shape.reduce(1, *) * dtype.size else {
                throw ArrayFileError.malformed("safetensors entry \(name): byte range does not match shape \(shape)")
            }
            result.tensors[name] = Entry(dtype: dtype, shape: shape, data: Data(bytes[(dataStart + offsets[0])..<(dataStart + offsets[1])]))
        }
        return result
    }

    public static func read(from url: URL) throws -> SafeTensors {
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch { throw ArrayFileError.io("cannot read \(url.path): \(error.localizedDescription)") }
        do { return try decode(bytes) } catch let error as ArrayFileError {
            throw ArrayFileError.malformed("\(url.path): \(error)")
        }
    }

    /// Writes atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }
}
