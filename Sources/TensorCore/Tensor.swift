import Foundation

/// A dense, contiguous, row-major (C order) n-dimensional array of `float32` or `float64`
/// with reverse-mode automatic differentiation. Images are NCHW.
///
/// Tensors are immutable in value once other tensors have been computed from them (the
/// autograd graph keeps references); in-place updates are for parameters and buffers outside
/// recorded computation (optimizer steps, running statistics), under `Autograd.withNoGrad`.
public final class Tensor: CustomStringConvertible, @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let count: Int
    /// A `var` only so that `ownsStorage()` can ask whether it is uniquely referenced; it is
    /// never reassigned (unchecked: no exclusivity checks on the reads of every kernel).
    @exclusivity(unchecked) private(set) var storage: Storage
    /// Byte offset of element 0 in `storage` (views of a larger buffer).
    let offset: Int

    /// Whether gradients flow to this tensor. Leaves with `requiresGrad` (parameters, or
    /// inputs being optimised) receive `grad` after `backward()`.
    public var requiresGrad: Bool
    /// Accumulated gradient (same shape and dtype), nil until the first backward pass.
    public var grad: Tensor?
    /// How this tensor was computed, when it was recorded (nil for leaves).
    var node: GradNode?

    init(shape: [Int], dtype: DType, storage: Storage, offset: Int = 0, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.dtype = dtype
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.offset = offset
        self.requiresGrad = requiresGrad
        precondition(offset + count * dtype.size <= storage.byteCount, "view beyond its storage")
    }

    /// Whether no other tensor (a view, or a tensor sharing this one's buffer) holds this
    /// tensor's storage, so that its memory is reachable through this tensor only.
    func ownsStorage() -> Bool { isKnownUniquelyReferenced(&storage) }

    /// A new tensor with uninitialised (`zeroed: false`) or zero elements.
    public convenience init(shape: [Int], dtype: DType = .float32, zeroed: Bool = true) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, dtype: dtype, storage: Storage(byteCount: count * dtype.size, zeroed: zeroed))
    }

    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(shape: shape, dtype: .float32, zeroed: false)
        values.withUnsafeBufferPointer { pointer(Float.self).update(from: $0.baseAddress!, count: values.count) }
        self.requiresGrad = requiresGrad
    }

    /// A float64 tensor (literals without a type give float32).
    @_disfavoredOverload
    public convenience init(_ values: [Double], shape: [Int], requiresGrad: Bool = false) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.init(shape: shape, dtype: .float64, zeroed: false)
        values.withUnsafeBufferPointer { pointer(Double.self).update(from: $0.baseAddress!, count: values.count) }
        self.requiresGrad = requiresGrad
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor { Tensor(shape: shape, dtype: dtype) }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, zeroed: false)
        t.fill(value)
        return t
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, value: 1, dtype: dtype) }

    /// A 0-d tensor.
    public static func scalar(_ value: Double, dtype: DType = .float32) -> Tensor { full([], value: value, dtype: dtype) }

    // MARK: - element access

    /// Typed pointer to element 0. The dtype must match.
    @inline(__always)
    public func pointer<T: TensorScalar>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        precondition(T.dtype == dtype, "tensor is \(dtype), not \(T.dtype)")
        return (storage.pointer + offset).assumingMemoryBound(to: T.self)
    }

    /// Raw bytes of the elements.
    public var rawBytes: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: storage.pointer + offset, count: count * dtype.size)
    }

    /// All elements as Float, in C order.
    public func floats() -> [Float] {
        switch dtype {
        case .float32: return Array(UnsafeBufferPointer(start: pointer(Float.self), count: count))
        case .float64: return UnsafeBufferPointer(start: pointer(Double.self), count: count).map { Float($0) }
        }
    }

    /// All elements as Double, in C order.
    public func doubles() -> [Double] {
        switch dtype {
        case .float32: return UnsafeBufferPointer(start: pointer(Float.self), count: count).map { Double($0) }
        case .float64: return Array(UnsafeBufferPointer(start: pointer(Double.self), count: count))
        }
    }

    /// The value of a one-element tensor.
    public func item() -> Double {
        precondition(count == 1, "item() of a tensor with \(count) elements")
        return dtype == .float32 ? Double(pointer(Float.self)[0]) : pointer(Double.self)[0]
    }

    /// Sets every element (no gradient is recorded).
    public func fill(_ value: Double) {
        switch dtype {
        case .float32: pointer(Float.self).update(repeating: Float(value), count: count)
        case .float64: pointer(Double.self).update(repeating: value, count: count)
        }
    }

    /// Copies the elements of `other` (same count and dtype) into this tensor, in place.
    public func copyElements(from other: Tensor) {
        precondition(other.count == count && other.dtype == dtype, "copy between \(other.shape)/\(other.dtype) and \(shape)/\(dtype)")
        rawBytes.baseAddress!.copyMemory(from: other.rawBytes.baseAddress!, byteCount: count * dtype.size)
    }

    /// An independent copy (no gradient link).
    public func clone() -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        out.copyElements(from: self)
        return out
    }

    /// The same elements without the gradient link (shares storage).
    public func detach() -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: storage, offset: offset)
    }

    /// A copy converted to `dtype` (records the conversion, so gradients flow back).
    public func to(_ target: DType) -> Tensor {
        guard target != dtype else { return self }
        let out = Tensor(shape: shape, dtype: target, zeroed: false)
        if dtype == .float32 {
            let src = pointer(Float.self), dst = out.pointer(Double.self)
            for i in 0..<count { dst[i] = Double(src[i]) }
        } else {
            let src = pointer(Double.self), dst = out.pointer(Float.self)
            for i in 0..<count { dst[i] = Float(src[i]) }
        }
        let source = dtype
        return record(out, "to(\(target))", [self]) { g in [g.to(source)] }
    }

    public var rank: Int { shape.count }

    /// Size of a dimension; negative indices count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizedAxis(axis)] }

    func normalizedAxis(_ axis: Int) -> Int {
        let a = axis < 0 ? axis + shape.count : axis
        precondition(a >= 0 && a < shape.count, "axis \(axis) out of range for shape \(shape)")
        return a
    }

    public var description: String {
        let preview = doubles().prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape), \(dtype)\(requiresGrad ? ", requiresGrad" : ""): [\(preview)\(count > 8 ? ", ..." : "")])"
    }
}
