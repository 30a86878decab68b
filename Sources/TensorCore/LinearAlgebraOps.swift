/// Matrix products on OpenBLAS, with gradients.
extension Tensor {
    /// Matrix product: [M, K] x [K, N] -> [M, N], or batched [B, M, K] x [B, K, N].
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(dtype == other.dtype, "dtype mismatch")
        if rank == 3 && other.rank == 3 {
            precondition(shape[0] == other.shape[0] && shape[2] == other.shape[1], "matmul of \(shape) and \(other.shape)")
            let (b, m, k, n) = (shape[0], shape[1], shape[2], other.shape[2])
            let out = Tensor(shape: [b, m, n], dtype: dtype, zeroed: false)
            func kernel<T: TensorScalar>(_: T.Type) {
                let x = pointer(T.self), y = other.pointer(T.self), z = out.pointer(T.self)
                for i in 0..<b {
                    GEMM.parallel(m: m, n: n, k: k, a: x + i * m * k, lda: k, b: y + i * k * n, ldb: n, c: z + i * m * n, ldc: n)
                }
            }
            dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
            return record(out, "bmm", [self, other], keeps: [self, other]) { g in
                [self.requiresGrad ? g.matmul(other.permuted([0, 2, 1])) : nil,
                 other.requiresGrad ? self.permuted([0, 2, 1]).matmul(g) : nil]
            }
        }
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0], "matmul of \(shape) and \(other.shape)")
        let (m, k, n) = (shape[0], shape[1], other.shape[1])
        let out = Tensor(shape: [m, n], dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            GEMM.parallel(m: m, n: n, k: k, a: pointer(T.self), lda: k, b: other.pointer(T.self), ldb: n, c: out.pointer(T.self), ldc: n)
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return record(out, "matmul", [self, other], keeps: [self, other]) { g in
            [self.requiresGrad ? g.matmulTransposed(other, transposeSelf: false, transposeOther: true) : nil,
             other.requiresGrad ? self.matmulTransposed(g, transposeSelf: true, transposeOther: false) : nil]
        }
    }

    /// op(self) x op(other) for rank-2 tensors without materialising transposes (no graph;
    /// used by backward functions).
    func matmulTransposed(_ other: Tensor, transposeSelf: Bool, transposeOther: Bool) -> Tensor {
        let m = transposeSelf ? shape[1] : shape[0], k = transposeSelf ? shape[0] : shape[1]
        let n = transposeOther ? other.shape[0] : other.shape[1]
        precondition(k == (transposeOther ? other.shape[1] : other.shape[0]), "product of \(shape) and \(other.shape)")
        let out = Tensor(shape: [m, n], dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            GEMM.parallel(transA: transposeSelf, transB: transposeOther, m: m, n: n, k: k,
                          a: pointer(T.self), lda: shape[1], b: other.pointer(T.self), ldb: other.shape[1],
                          c: out.pointer(T.self), ldc: n)
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }
}

/// Fully connected layer: y = x W^T + b, x [N, in], W [out, in] (PyTorch's layout), b [out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1], "linear of \(x.shape) with weight \(weight.shape)")
    let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
    let out = Tensor(shape: [n, outFeatures], dtype: x.dtype, zeroed: false)
    func kernel<T: TensorScalar>(_: T.Type) {
        let z = out.pointer(T.self)
        if let bias {
            let b = bias.pointer(T.self)
            for i in 0..<n { (z + i * outFeatures).update(from: b, count: outFeatures) }
        }
        GEMM.parallel(transB: true, m: n, n: outFeatures, k: inFeatures, a: x.pointer(T.self), lda: inFeatures,
                      b: weight.pointer(T.self), ldb: inFeatures, beta: bias == nil ? 0 : 1, c: z, ldc: outFeatures)
    }
    x.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return record(out, "linear", inputs, keeps: [x, weight]) { g in
        var grads: [Tensor?] = [
            x.requiresGrad ? g.matmulTransposed(weight, transposeSelf: false, transposeOther: false) : nil,
            weight.requiresGrad ? g.matmulTransposed(x, transposeSelf: true, transposeOther: false) : nil,
        ]
        if let bias { grads.append(bias.requiresGrad ? g.sum(axes: [0]) : nil) }
        return grads
    }
}
