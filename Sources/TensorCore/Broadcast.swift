/// NumPy broadcasting: shapes are aligned at the right; a dimension of 1 (or a missing one)
/// stretches to the other's size.
enum Broadcast {
    static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            out[i] = max(da, db)
        }
        return out
    }

    /// Strides of `shape` seen in `outShape`'s index space (0 along broadcast dimensions).
    static func strides(of shape: [Int], in outShape: [Int]) -> [Int] {
        let rank = outShape.count
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = i + rank - shape.count
            strides[o] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Calls `body(outIndex, aIndex, bIndex)` for every element of `outShape`, in C order.
    @inline(__always)
    static func forEach(_ outShape: [Int], _ aStrides: [Int], _ bStrides: [Int], _ body: (Int, Int, Int) -> Void) {
        let rank = outShape.count
        let total = outShape.reduce(1, *)
        guard total > 0 else { return }
        if rank == 0 { body(0, 0, 0); return }
        var index = [Int](repeating: 0, count: rank)
        var ai = 0, bi = 0
        let inner = outShape[rank - 1], sa = aStrides[rank - 1], sb = bStrides[rank - 1]
        var o = 0
        while o < total {
            var a = ai, b = bi
            for _ in 0..<inner {
                body(o, a, b)
                o += 1; a += sa; b += sb
            }
            // Advance the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                ai += aStrides[d]; bi += bStrides[d]
                if index[d] < outShape[d] { break }
                ai -= aStrides[d] * outShape[d]; bi -= bStrides[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
    }
}

extension Tensor {
    /// Sums a broadcast gradient back to `target` (the reverse of broadcasting to `shape`).
    func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor(shape: target, dtype: dtype)
        let outStrides = Broadcast.strides(of: target, in: shape)
        let ones = [Int](repeating: 0, count: shape.count)
        func kernel<T: TensorScalar>(_: T.Type) {
            let src = pointer(T.self), dst = out.pointer(T.self)
            Broadcast.forEach(shape, outStrides, ones) { i, o, _ in dst[o] += src[i] }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }
}
