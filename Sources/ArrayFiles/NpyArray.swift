import Foundation

/// An n-dimensional array as `.npy` holds it: a dtype, a C-order shape and the element
/// bytes in host (little endian) order.
public struct NpyArray: Equatable, Sendable {
    public var dtype: NpyDType
    public var shape: [Int]
    /// Element bytes, C order, host byte order.
    public var data: Data

    public init(dtype: NpyDType, shape: [Int], data: Data) throws {
        let expected = shape.reduce(1, *) * dtype.size
        guard data.count == expected else {
            throw ArrayFileError.mismatch("array data has \(data.count) bytes but shape \(shape) of \(dtype) needs \(expected)")
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    public init(_ values: [UInt8], shape: [Int]) throws { try self.init(dtype: .uint8, shape: shape, data: Data(values)) }
    public init(_ values: [UInt16], shape: [Int]) throws { try self.init(dtype: .uint16, shape: shape, data: values.withUnsafeBytes { Data($0) }) }
    public init(_ values: [Int16], shape: [Int]) throws { try self.init(dtype: .int16, shape: shape, data: values.withUnsafeBytes { Data($0) }) }
    public init(_ values: [Int32], shape: [Int]) throws { try self.init(dtype: .int32, shape: shape, data: values.withUnsafeBytes { Data($0) }) }
    public init(_ values: [Int64], shape: [Int]) throws { try self.init(dtype: .int64, shape: shape, data: values.withUnsafeBytes { Data($0) }) }
    public init(_ values: [Float], shape: [Int]) throws { try self.init(dtype: .float32, shape: shape, data: values.withUnsafeBytes { Data($0) }) }
    public init(_ values: [Double], shape: [Int]) throws { try self.init(dtype: .float64, shape: shape, data: values.withUnsafeBytes { Data($0) }) }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The elements reinterpreted as `T` (whose size must match the dtype's).
    public func values<T>(as type: T.Type) -> [T] {
        precondition(MemoryLayout<T>.stride == dtype.size, "element size mismatch: \(T.self) vs \(dtype)")
        return data.withUnsafeBytes { raw in Array(raw.bindMemory(to: T.self)) }
    }

    /// The elements converted to Float, whatever the dtype.
    public func floatValues() -> [Float] {
        switch dtype {
        case .bool, .uint8: return data.map { Float($0) }
        case .int8: return values(as: Int8.self).map { Float($0) }
        case .uint16: return values(as: UInt16.self).map { Float($0) }
        case .int16: return values(as: Int16.self).map { Float($0) }
        case .uint32: return values(as: UInt32.self).map { Float($0) }
        case .int32: return values(as: Int32.self).map { Float($0) }
        case .int64: return values(as: Int64.self).map { Float($0) }
        case .float32: return values(as: Float.self)
        case .float64: return values(as: Double.self).map { Float($0) }
        }
    }

    /// The complete file contents: header then data.
    public func encoded() -> Data {
        var out = NpyHeader(dtype: dtype, shape: shape).encoded()
        out.append(data)
        return out
    }

    /// Parses a whole `.npy` file held in memory; big-endian data is swapped to host order.
    public static func decode(_ bytes: Data) throws -> NpyArray {
        try bytes.withUnsafeBytes { raw in
            let header = try NpyHeader.decode(raw)
            guard !header.fortranOrder else { throw ArrayFileError.unsupported("Fortran-ordered .npy arrays are not supported") }
            guard raw.count >= header.dataOffset + header.byteCount else {
                throw ArrayFileError.malformed("truncated .npy data: expected \(header.byteCount) bytes after the header, found \(raw.count - header.dataOffset)")
            }
            var data = Data(raw[header.dataOffset..<(header.dataOffset + header.byteCount)])
            if header.bigEndian { data = swapBytes(data, width: header.dtype.size) }
            return try NpyArray(dtype: header.dtype, shape: header.shape, data: data)
        }
    }

    /// Reads a `.npy` file.
    public static func read(from url: URL) throws -> NpyArray {
        let bytes: Data
        do { bytes = try Data(contentsOf: url) } catch {
            throw ArrayFileError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try decode(bytes) } catch let error as ArrayFileError {
            throw ArrayFileError.malformed("\(url.path): \(error)")
        }
    }

    /// Writes the array atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }

    static func swapBytes(_ data: Data, width: Int) -> Data {
        guard width > 1 else { return data }
        var out = data
        out.withUnsafeMutableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            while index + width <= bytes.count {
                var low = index, high = index + width - 1
                while low < high { bytes.swapAt(low, high); low += 1; high -= 1 }
                index += width
            }
        }
        return out
    }
}
