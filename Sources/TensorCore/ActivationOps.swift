import RealModule

/// Activations, softmax and dropout, with gradients.
extension Tensor {
    /// max(x, 0); the gradient passes where the output is positive.
    public func relu() -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        if dtype == .float32 {
            let x = pointer(Float.self), z = out.pointer(Float.self)
            Parallel.forEachChunk(count, grain: 1 << 16) { _, range in
                VectorKernels.relu(x + range.lowerBound, z + range.lowerBound, range.count)
            }
        } else {
            let x = pointer(Double.self), z = out.pointer(Double.self)
            for i in 0..<count { z[i] = x[i] > 0 ? x[i] : 0 }
        }
        let y = out.detach()
        return record(out, "relu", [self], keeps: [out]) { g in [maskedByPositive(g, y)] }
    }

    /// 1 / (1 + exp(-x)).
    public func sigmoid() -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func forward<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            for i in 0..<count { z[i] = 1 / (1 + T.exp(-x[i])) }
        }
        dtype == .float32 ? forward(Float.self) : forward(Double.self)
        let y = out.detach()
        return record(out, "sigmoid", [self], keeps: [out]) { g in
            [g * y * (1 - y)]
        }
    }

    /// Softmax along `axis` (max-subtracted for stability).
    public func softmax(axis: Int) -> Tensor {
        let out = softmaxCore(axis: axis, log: false)
        let a = normalizedAxis(axis)
        let y = out.detach()
        return record(out, "softmax", [self], keeps: [out]) { g in
            // dx = y * (g - sum(g * y))
            return [y * (g - (g * y).sum(axes: [a], keepDims: true))]
        }
    }

    /// log(softmax(x)) along `axis`, computed as x - logsumexp(x).
    public func logSoftmax(axis: Int) -> Tensor {
        let out = softmaxCore(axis: axis, log: true)
        let a = normalizedAxis(axis)
        let y = out.detach()
        return record(out, "logSoftmax", [self], keeps: [out]) { g in
            // dx = g - softmax(x) * sum(g)
            let p = y.exp()
            return [g - p * g.sum(axes: [a], keepDims: true)]
        }
    }

    func softmaxCore(axis: Int, log: Bool) -> Tensor {
        let a = normalizedAxis(axis)
        let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            Parallel.forEachChunk(outer * inner, grain: 256) { _, range in
                for index in range {
                    let o = index / inner, i = index % inner
                    let base = o * n * inner + i
                    var maxValue = -T.infinity
                    for k in 0..<n { maxValue = Swift.max(maxValue, x[base + k * inner]) }
                    var sum: T = 0
                    for k in 0..<n { sum += T.exp(x[base + k * inner] - maxValue) }
                    if log {
                        let logSum = maxValue + T.log(sum)
                        for k in 0..<n { z[base + k * inner] = x[base + k * inner] - logSum }
                    } else {
                        for k in 0..<n { z[base + k * inner] = T.exp(x[base + k * inner] - maxValue) / sum }
                    }
                }
            }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }

    /// Divides each row (along `axis`) by its L2 norm (clamped at `epsilon`), as
    /// torch.nn.functional.normalize: x / max(‖x‖, ε), written as x / sqrt(max(‖x‖², ε²)),
    /// the same value, so that an all-zero row gets a zero gradient instead of sqrt's
    /// infinite slope at 0 times 0 (NaN).
    public func l2Normalized(axis: Int, epsilon: Double = 1e-12) -> Tensor {
        let squared = (self * self).sum(axes: [axis], keepDims: true)
        return self / maximum(squared, Tensor.full(squared.shape, value: epsilon * epsilon, dtype: dtype)).sqrt()
    }
}

/// Dropout: zeroes elements with probability `p` and scales the rest by 1/(1-p) when
/// `active` (training, or Monte Carlo sampling at evaluation); identity otherwise.
/// `channelwise` drops whole feature maps of NCHW inputs (spatial dropout, Dropout2d).
public func dropout(_ x: Tensor, probability p: Double, active: Bool, channelwise: Bool = false, generator: RandomGenerator) -> Tensor {
    guard active, p > 0 else { return x }
    precondition(p < 1, "dropout probability must be below 1")
    let units = channelwise ? x.shape[0] * x.shape[1] : x.count
    let inner = channelwise ? x.count / Swift.max(units, 1) : 1
    let scale = 1 / (1 - p)
    // Per unit (element, or feature map) whether it is kept (factor 1/(1-p), else 0); the
    // backward pass applies the same factors to the gradient. One byte per unit, as PyTorch's
    // boolean mask, not the factor itself (8 bytes) for as long as the graph lives.
    let kept = (0..<units).map { _ in generator.uniform() >= p }
    func apply(_ t: Tensor) -> Tensor {
        let out = Tensor(shape: t.shape, dtype: t.dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let src = t.pointer(T.self), dst = out.pointer(T.self)
            Parallel.forEachChunk(units, grain: Swift.max(1, 4096 / Swift.max(inner, 1))) { _, range in
                for u in range {
                    let f: T = kept[u] ? T(scale) : 0
                    if inner == 1 { dst[u] = src[u] * f; continue }
                    if f == 0 { (dst + u * inner).update(repeating: 0, count: inner); continue }
                    for k in 0..<inner { dst[u * inner + k] = src[u * inner + k] * f }
                }
            }
        }
        t.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }
    return record(apply(x), channelwise ? "dropout2d" : "dropout", [x]) { g in [apply(g)] }
}
