/// Reshaping, permuting, joining, cutting, padding, flipping and rolling, with gradients.
extension Tensor {
    /// The same elements with another shape (a view: no copy). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != unknown }.reduce(1) { $0 * $1.element }
            resolved[unknown] = known == 0 ? 0 : count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        if resolved == shape { return self }
        let out = Tensor(shape: resolved, dtype: dtype, storage: storage, offset: offset)
        let source = shape
        return record(out, "reshape", [self]) { g in [g.reshaped(source)] }
    }

    /// Collapses dimensions from `start` on into one: [N, C, H, W] -> [N, C*H*W].
    public func flattened(from start: Int = 1) -> Tensor {
        let s = normalizedAxis(start)
        return reshaped(Array(shape[..<s]) + [shape[s...].reduce(1, *)])
    }

    public func unsqueezed(_ axis: Int) -> Tensor {
        var s = shape
        s.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
        return reshaped(s)
    }

    public func squeezed(_ axis: Int) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(shape[a] == 1, "squeeze of axis \(axis) of size \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// Dimensions reordered: output dimension i is input dimension `order[i]` (a copy).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "bad permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let strides = order.map { inStrides[$0] }
        let out = Tensor(shape: outShape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            Broadcast.forEach(outShape, strides, strides) { o, i, _ in z[o] = x[i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return record(out, "permute", [self]) { g in [g.permuted(inverse)] }
    }

    /// Matrix transpose of a rank-2 tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix")
        return permuted([1, 0])
    }

    /// Elements `range` along `axis` (a copy).
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) of axis size \(shape[a])")
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = range.count
        let out = Tensor(shape: outShape, dtype: dtype, zeroed: false)
        let block = range.count * inner
        let bytes = block * dtype.size
        for o in 0..<outer {
            let src = rawBytes.baseAddress! + ((o * shape[a] + range.lowerBound) * inner) * dtype.size
            (out.rawBytes.baseAddress! + o * bytes).copyMemory(from: src, byteCount: bytes)
        }
        let before = range.lowerBound, after = shape[a] - range.upperBound
        return record(out, "slice", [self]) { g in [g.padded(axis: a, before: before, after: after)] }
    }

    /// Splits along `axis` into pieces of the given sizes.
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        precondition(sizes.reduce(0, +) == size(axis), "split sizes \(sizes) for axis of size \(size(axis))")
        var start = 0
        return sizes.map { n in defer { start += n }; return slice(axis: axis, start..<(start + n)) }
    }

    /// Zero-pads one axis.
    public func padded(axis: Int, before: Int, after: Int, value: Double = 0) -> Tensor {
        var pads = [(Int, Int)](repeating: (0, 0), count: rank)
        pads[normalizedAxis(axis)] = (before, after)
        return padded(pads, value: value)
    }

    /// Constant padding: `pads[d]` = (before, after) for dimension d.
    public func padded(_ pads: [(Int, Int)], value: Double = 0) -> Tensor {
        precondition(pads.count == rank, "padding for \(pads.count) of \(rank) dimensions")
        let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
        let out = Tensor.full(outShape, value: value, dtype: dtype)
        var outStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { outStrides[d] = outStrides[d + 1] * outShape[d + 1] }
        let base = zip(pads, outStrides).reduce(0) { $0 + $1.0.0 * $1.1 }
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            Broadcast.forEach(shape, outStrides, outStrides) { i, o, _ in z[base + o] = x[i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        let source = shape
        return record(out, "pad", [self]) { g in
            var t = g
            for (d, p) in pads.enumerated() where p.0 != 0 || p.1 != 0 { t = t.slice(axis: d, p.0..<(p.0 + source[d])) }
            return [t]
        }
    }

    /// Reverses the order along each of `axes`.
    public func flipped(_ axes: [Int]) -> Tensor {
        let flip = Set(axes.map(normalizedAxis))
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        var start = 0
        var walk = strides
        for d in flip { start += (shape[d] - 1) * strides[d]; walk[d] = -strides[d] }
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            Broadcast.forEach(shape, walk, walk) { o, i, _ in z[o] = x[start + i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return record(out, "flip", [self]) { g in [g.flipped(Array(flip))] }
    }

    /// Cyclic shift: element i along axis d moves to (i + shift) mod n, as torch.roll.
    public func rolled(shifts: [Int], axes: [Int]) -> Tensor {
        precondition(shifts.count == axes.count, "one shift per axis")
        var t = self
        for (shift, axis) in zip(shifts, axes) {
            let a = normalizedAxis(axis)
            let n = shape[a]
            guard n > 0 else { continue }
            let k = ((shift % n) + n) % n
            if k == 0 { continue }
            t = Tensor.concat([t.slice(axis: a, (n - k)..<n), t.slice(axis: a, 0..<(n - k))], axis: a)
        }
        return t
    }

    /// Joins tensors of equal shape except along `axis`.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of nothing")
        let first = tensors[0]
        let a = first.normalizedAxis(axis)
        for t in tensors {
            precondition(t.rank == first.rank && t.dtype == first.dtype, "concat of \(t.shape) and \(first.shape)")
            for d in 0..<first.rank where d != a { precondition(t.shape[d] == first.shape[d], "concat of \(t.shape) and \(first.shape) along \(axis)") }
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let out = Tensor(shape: outShape, dtype: first.dtype, zeroed: false)
        let element = first.dtype.size
        let outRow = outShape[a] * inner * element
        var offset = 0
        for t in tensors {
            let block = t.shape[a] * inner * element
            for o in 0..<outer {
                (out.rawBytes.baseAddress! + o * outRow + offset).copyMemory(from: t.rawBytes.baseAddress! + o * block, byteCount: block)
            }
            offset += block
        }
        let sizes = tensors.map { $0.shape[a] }
        return record(out, "concat", tensors) { g in g.split(axis: a, sizes: sizes).map { Optional($0) } }
    }
}
