/// Sums, means and variances over axes, with gradients.
extension Tensor {
    /// Shape after reducing `axes` (kept as 1 when `keepDims`).
    func reducedShape(_ axes: Set<Int>, keepDims: Bool) -> [Int] {
        var out: [Int] = []
        for (d, n) in shape.enumerated() {
            if axes.contains(d) { if keepDims { out.append(1) } } else { out.append(n) }
        }
        return out
    }

    func normalizedAxes(_ axes: [Int]?) -> Set<Int> {
        Set((axes ?? Array(0..<rank)).map(normalizedAxis))
    }

    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduce = normalizedAxes(axes)
        let keptShape = reducedShape(reduce, keepDims: true)
        let out = Tensor(shape: keptShape, dtype: dtype)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            if reduce.count == rank {
                if T.self == Float.self {
                    z[0] = VectorKernels.sum(UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), count) as! T
                    return
                }
                var total: T = 0
                // Pairwise blocks keep float32 sums accurate for long vectors.
                var block: T = 0
                for i in 0..<count {
                    block += x[i]
                    if i & 4095 == 4095 { total += block; block = 0 }
                }
                z[0] = total + block
                return
            }
            // Trailing axes (spatial means of NCHW maps): each output sums one contiguous run.
            if let first = reduce.min(), reduce.count == rank - first {
                let inner = shape[first...].reduce(1, *), outer = count / Swift.max(inner, 1)
                Parallel.forEachChunk(outer, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { _, rows in
                    for o in rows { z[o] = channelSum(x + o * inner, inner) }
                }
                return
            }
            let strides = Broadcast.strides(of: keptShape, in: shape)
            Broadcast.forEach(shape, strides, strides) { i, o, _ in z[o] += x[i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        let finalShape = keepDims ? keptShape : reducedShape(reduce, keepDims: false)
        let result = Tensor(shape: finalShape, dtype: dtype, storage: out.storage)
        let inputShape = shape
        return record(result, "sum", [self]) { g in [g.reshaped(keptShape).broadcast(to: inputShape)] }
    }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let reduce = normalizedAxes(axes)
        let n = reduce.reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) / Double(Swift.max(n, 1))
    }

    /// Variance over `axes`: biased (divide by n) unless `unbiased` (n - 1).
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        let reduce = normalizedAxes(axes)
        let n = reduce.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: axes, keepDims: true)
        return (centered * centered).sum(axes: axes, keepDims: keepDims) / Double(Swift.max(unbiased ? n - 1 : n, 1))
    }

    /// Repeats along dimensions of size 1 to reach `target` (gradient: sum back).
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor(shape: target, dtype: dtype, zeroed: false)
        let strides = Broadcast.strides(of: shape, in: target)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            Broadcast.forEach(target, strides, strides) { o, i, _ in z[o] = x[i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        let source = shape
        return record(out, "broadcast", [self]) { g in [g.sum(toShape: source)] }
    }

    /// Largest value along `axis`, and its index (no gradient for the index).
    public func max(axis: Int, keepDims: Bool = false) -> (values: Tensor, indices: [Int]) {
        let a = normalizedAxis(axis)
        let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = 1
        let out = Tensor(shape: outShape, dtype: dtype, zeroed: false)
        var indices = [Int](repeating: 0, count: outer * inner)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = x[o * n * inner + i], arg = 0
                    for k in 1..<Swift.max(n, 1) where x[(o * n + k) * inner + i] > best {
                        best = x[(o * n + k) * inner + i]
                        arg = k
                    }
                    z[o * inner + i] = best
                    indices[o * inner + i] = arg
                }
            }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        let chosen = indices
        let inputShape = shape
        let valued = record(out, "max", [self]) { g in
            let grad = Tensor(shape: inputShape, dtype: g.dtype)
            func back<T: TensorScalar>(_: T.Type) {
                let gp = g.pointer(T.self), dp = grad.pointer(T.self)
                for o in 0..<outer { for i in 0..<inner { dp[(o * n + chosen[o * inner + i]) * inner + i] = gp[o * inner + i] } }
            }
            g.dtype == .float32 ? back(Float.self) : back(Double.self)
            return [grad]
        }
        if keepDims { return (valued, indices) }
        var squeezed = shape
        squeezed.remove(at: a)
        return (valued.reshaped(squeezed), indices)
    }

    /// Index of the largest value along `axis` for every other position.
    public func argmax(axis: Int) -> [Int] {
        Autograd.withNoGrad { max(axis: axis).indices }
    }
}
