import RealModule

/// Batch normalisation over axis 1 of x [N, C] or [N, C, ...]:
/// y = (x - mean) / sqrt(var + eps) * weight + bias, with the batch's mean and biased variance
/// in training (running statistics updated as running = (1 - momentum) * running + momentum *
/// batch, with the unbiased variance, as PyTorch does; momentum 1 keeps the last batch's) and
/// the running statistics in evaluation.
///
/// With `relu`, returns max(y, 0) in the same pass (BatchNorm followed by ReLU, fused: one pass
/// less over the activations forward and backward). With `residual` r (the shape of x, as a
/// residual block's shortcut), returns max(y + r, 0) (ReLU implied): y and y + r are never
/// stored; the mask of both gradients (dr = dz = g [y + r > 0]) is the ReLU's input's sign.
///
/// With ReLU, the output is not kept for backward: the per-channel scale and shift are kept
/// (2C values), and the backward kernels recompute the ReLU's input x * scale + shift (+ r)
/// from x (and r), which backward reads anyway, with the forward pass's operations, for its
/// mask (`ReLUMask`, `VectorKernels.reluPre`): no extra pass, and the same mask bit for bit.
/// Ops that read the output itself in their backward (the next convolution) recompute it
/// through `SavedTensor` by the forward kernel (`batchNormApply`); so between a
/// BatchNorm+ReLU and the next convolution no activation is kept at all.
///
/// With `overwrite`, the result goes into x's own memory when nothing is recorded (evaluation
/// under `withNoGrad`, or no input that needs a gradient) and x is no recorded op's output; the
/// caller passes an x that nobody else holds, as a convolution's fresh output. In evaluation
/// that removes one activation from every conv+BN(+ReLU) (U-Net's inference peak: one map of
/// the finest level, 16 MiB at batch 8).
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Double = 0.1, epsilon: Double = 1e-5, relu: Bool = false,
                      residual: Tensor? = nil, overwrite: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "batchNorm needs [N, C, ...], not \(x.shape)")
    precondition(residual.map { $0.shape == x.shape && $0.dtype == x.dtype } ?? true,
                 "batchNorm residual \(residual?.shape ?? []) for input \(x.shape)")
    let relu = relu || residual != nil
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let m = n * inner
    precondition(!training || m > 1, "batchNorm in training needs more than one value per channel (input \(x.shape))")
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    if let residual { inputs.append(residual) }
    // In place only where nothing is recorded: a recorded node keeps x for its backward.
    let out = overwrite && !recordsGradient(of: inputs) && x.node == nil ? x : Tensor(shape: x.shape, dtype: x.dtype, zeroed: false)
    let mean = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
    let invstd = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
    // Row 0: scale = invstd * weight, row 1: shift = bias - mean * scale, per channel.
    let affine = Tensor(shape: [2, c], dtype: x.dtype, zeroed: false)
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self)
        let mp = mean.pointer(T.self), sp = invstd.pointer(T.self)
        let gp = weight?.pointer(T.self), bp = bias?.pointer(T.self)
        let rm = runningMean?.pointer(T.self), rv = runningVar?.pointer(T.self)
        let rp: UnsafePointer<T>? = residual.map { UnsafePointer($0.pointer(T.self)) }
        let ap = affine.pointer(T.self)
        Parallel.forEachChunk(c) { _, channels in
            for ch in channels {
                var mu: Double, variance: Double
                if training {
                    var sum = 0.0
                    for i in 0..<n { sum += Double(channelSum(xp + (i * c + ch) * inner, inner)) }
                    mu = sum / Double(m)
                    var squares = 0.0
                    let muT = T(mu)
                    for i in 0..<n { squares += Double(channelCenteredSquares(xp + (i * c + ch) * inner, muT, inner)) }
                    variance = squares / Double(m)
                    if let rm, let rv {
                        rm[ch] = T((1 - momentum) * Double(rm[ch]) + momentum * mu)
                        rv[ch] = T((1 - momentum) * Double(rv[ch]) + momentum * variance * Double(m) / Double(m - 1))
                    }
                } else {
                    guard let rm, let rv else { preconditionFailure("batchNorm in evaluation needs running statistics") }
                    mu = Double(rm[ch]); variance = Double(rv[ch])
                }
                let inv = 1 / (variance + epsilon).squareRoot()
                mp[ch] = T(mu); sp[ch] = T(inv)
                let scale = T(inv) * (gp?[ch] ?? 1)
                ap[ch] = scale
                ap[c + ch] = (bp?[ch] ?? 0) - T(mu) * scale
                batchNormApply(xp, ap, rp, op, channel: ch, images: n, channels: c, inner: inner, relu: relu)
            }
        }
    }
    // Maps of fewer than 16 values pack channels to a vector (`PackedChannels`).
    let packed = x.dtype == .float32 && PackedChannels.group(inner: inner, channels: c) != nil
    if packed {
        PackedChannels.batchNormForward(x: x.pointer(Float.self), r: residual?.pointer(Float.self), out: out.pointer(Float.self),
                                        weight: weight?.pointer(Float.self), bias: bias?.pointer(Float.self),
                                        runningMean: runningMean?.pointer(Float.self), runningVar: runningVar?.pointer(Float.self),
                                        mean: mean.pointer(Float.self), invstd: invstd.pointer(Float.self), affine: affine.pointer(Float.self),
                                        images: n, channels: c, inner: inner, training: training, momentum: momentum, epsilon: epsilon,
                                        relu: relu)
    } else {
        x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    }
    let recompute = { batchNormApply(x, affine: affine, residual: residual, relu: relu) }
    let name = residual != nil ? "batchNormAddReLU" : relu ? "batchNormReLU" : "batchNorm"
    let kept = [x] + (weight.map { [$0] } ?? []) + (residual.map { [$0] } ?? [])
    let recorded = record(out, name, inputs, keeps: kept) { g in
        // The ReLU's mask is recomputed from x (and r) inside the kernels (`VectorKernels.reluPre`).
        let dx = x.requiresGrad ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
        let dgamma = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
        let dbeta = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
        func backward<T: TensorScalar>(_: T.Type) {
            let xp = x.pointer(T.self), gp = g.pointer(T.self)
            let rp: UnsafePointer<T>? = residual.map { UnsafePointer($0.pointer(T.self)) }
            let ap: UnsafePointer<T>? = relu ? UnsafePointer(affine.pointer(T.self)) : nil
            let mp = mean.pointer(T.self), sp = invstd.pointer(T.self), wp = weight?.pointer(T.self)
            let dgp = dgamma.pointer(T.self), dbp = dbeta.pointer(T.self), dxp = dx?.pointer(T.self)
            Parallel.forEachChunk(c) { _, channels in
                for ch in channels {
                    let mu = mp[ch], inv = sp[ch]
                    // The ReLU's input per channel: x * scale + shift (+ r).
                    let mask = ap.map { ReLUMask(scale: $0[ch], shift: $0[c + ch], residual: rp) }
                    var sumDy = 0.0, sumDyXhat = 0.0
                    for i in 0..<n {
                        let offset = (i * c + ch) * inner
                        let (a, b) = channelGradientMoments(gp + offset, mask, offset: offset, xp + offset, mu, inner)
                        sumDy += Double(a); sumDyXhat += Double(b) * Double(inv)
                    }
                    dbp[ch] = T(sumDy); dgp[ch] = T(sumDyXhat)
                    guard let dxp else { continue }
                    let gamma = wp?[ch] ?? 1
                    for i in 0..<n {
                        let offset = (i * c + ch) * inner
                        if training {
                            // dx = gamma * invstd / M * (M dy - sum(dy) - xhat * sum(dy xhat))
                            channelNormalizationBackward(gp + offset, mask, offset: offset, xp + offset, dxp + offset, a: gamma * inv,
                                                         b: T(sumDy / Double(m)), c: inv * T(sumDyXhat / Double(m)), mean: mu, inner)
                        } else {
                            channelNormalizationBackward(gp + offset, mask, offset: offset, xp + offset, dxp + offset, a: gamma * inv,
                                                         b: 0, c: 0, mean: mu, inner)
                        }
                    }
                }
            }
        }
        if packed {
            PackedChannels.batchNormBackward(x: x.pointer(Float.self), g: g.pointer(Float.self), r: residual?.pointer(Float.self),
                                             affine: relu ? affine.pointer(Float.self) : nil, mean: mean.pointer(Float.self),
                                             invstd: invstd.pointer(Float.self), weight: weight?.pointer(Float.self),
                                             dgamma: dgamma.pointer(Float.self), dbeta: dbeta.pointer(Float.self), dx: dx?.pointer(Float.self),
                                             images: n, channels: c, inner: inner, training: training)
        } else {
            g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        }
        var grads: [Tensor?] = [dx]
        if let weight { grads.append(weight.requiresGrad ? dgamma : nil) }
        if let bias { grads.append(bias.requiresGrad ? dbeta : nil) }
        if let residual { grads.append(residual.requiresGrad ? residualGradient(g, x, residual, affine: affine) : nil) }
        return grads
    }
    if relu, let node = recorded.node {
        node.recomputation = Recomputation(inputs: [x, affine] + (residual.map { [$0] } ?? []), compute: recompute)
    }
    return recorded
}

/// out = x * scale + shift per channel, then + residual and ReLU as `batchNorm` asks: its
/// forward pass's last step, and the recomputation of its output for backward (one kernel for
/// both, so the values are the same bits). `affine` is [2, C]: scales, then shifts.
func batchNormApply(_ x: Tensor, affine: Tensor, residual: Tensor?, relu: Bool) -> Tensor {
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let out = Tensor(shape: x.shape, dtype: x.dtype, zeroed: false)
    func apply<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), ap = affine.pointer(T.self), op = out.pointer(T.self)
        let rp: UnsafePointer<T>? = residual.map { UnsafePointer($0.pointer(T.self)) }
        Parallel.forEachChunk(c) { _, channels in
            for ch in channels { batchNormApply(xp, ap, rp, op, channel: ch, images: n, channels: c, inner: inner, relu: relu) }
        }
    }
    if x.dtype == .float32 && PackedChannels.group(inner: inner, channels: c) != nil {
        // The forward pass's kernel for these maps, so that the recomputed output is its bits.
        PackedChannels.apply(x.pointer(Float.self), affine.pointer(Float.self), residual?.pointer(Float.self), out.pointer(Float.self),
                             images: n, channels: c, inner: inner, relu: relu)
    } else {
        x.dtype == .float32 ? apply(Float.self) : apply(Double.self)
    }
    return out
}

/// One channel of every image: out = max(x * scale + shift + r, 0), or relu?(x * scale + shift).
@inline(__always)
func batchNormApply<T: TensorScalar>(_ xp: UnsafePointer<T>, _ ap: UnsafePointer<T>, _ rp: UnsafePointer<T>?, _ op: UnsafeMutablePointer<T>,
                                     channel ch: Int, images n: Int, channels c: Int, inner: Int, relu: Bool) {
    let scale = ap[ch], shift = ap[c + ch]
    for i in 0..<n {
        let offset = (i * c + ch) * inner
        if let rp {
            channelAffineAddReLU(xp + offset, scale, shift, rp + offset, op + offset, inner)
        } else {
            channelAffine(xp + offset, scale, shift, op + offset, inner, relu: relu)
        }
    }
}

/// g where y > 0, else 0 (the gradient through a ReLU whose output is y).
func maskedByPositive(_ g: Tensor, _ y: Tensor) -> Tensor {
    let d = Tensor(shape: g.shape, dtype: g.dtype, zeroed: false)
    if g.dtype == .float32 {
        let yp = y.pointer(Float.self), gp = g.pointer(Float.self), dp = d.pointer(Float.self)
        Parallel.forEachChunk(g.count, grain: 1 << 16) { _, range in
            VectorKernels.reluBackward(yp + range.lowerBound, gp + range.lowerBound, dp + range.lowerBound, range.count)
        }
    } else {
        let yp = y.pointer(Double.self), gp = g.pointer(Double.self), dp = d.pointer(Double.self)
        for i in 0..<g.count { dp[i] = yp[i] > 0 ? gp[i] : 0 }
    }
    return d
}

/// Group normalisation of x [N, C, ...] over `groups` groups of channels (each image and
/// group normalised by its own mean and biased variance), then the optional per-channel affine.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, epsilon: Double = 1e-5) -> Tensor {
    precondition(x.rank >= 2 && x.shape[1] % groups == 0, "groupNorm of \(x.shape) into \(groups) groups")
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let perGroup = c / groups, m = perGroup * inner
    let out = Tensor(shape: x.shape, dtype: x.dtype, zeroed: false)
    let stats = Tensor(shape: [n * groups, 2], dtype: x.dtype, zeroed: false)  // mean, invstd
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self), st = stats.pointer(T.self)
        let wp = weight?.pointer(T.self), bp = bias?.pointer(T.self)
        Parallel.forEachChunk(n * groups) { _, blocks in
            for block in blocks {
                let src = xp + block * m, dst = op + block * m
                var sum: T = 0
                for k in 0..<m { sum += src[k] }
                let mu = sum / T(m)
                var squares: T = 0
                for k in 0..<m { let d = src[k] - mu; squares += d * d }
                let inv = 1 / (Double(squares) / Double(m) + epsilon).squareRoot()
                st[2 * block] = mu; st[2 * block + 1] = T(inv)
                let g0 = (block % groups) * perGroup
                for j in 0..<perGroup {
                    let scale = T(inv) * (wp?[g0 + j] ?? 1), shift = (bp?[g0 + j] ?? 0) - mu * scale
                    let s = src + j * inner, d = dst + j * inner
                    for k in 0..<inner { d[k] = s[k] * scale + shift }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return record(out, "groupNorm", inputs, keeps: [x] + (weight.map { [$0] } ?? [])) { g in
        let dx = x.requiresGrad ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
        // Per-image partial affine gradients, summed over images afterwards (no shared writes).
        let partialGamma = Tensor(shape: [n, c], dtype: x.dtype), partialBeta = Tensor(shape: [n, c], dtype: x.dtype)
        func backward<T: TensorScalar>(_: T.Type) {
            let xp = x.pointer(T.self), gp = g.pointer(T.self), st = stats.pointer(T.self), wp = weight?.pointer(T.self)
            let pg = partialGamma.pointer(T.self), pb = partialBeta.pointer(T.self), dxp = dx?.pointer(T.self)
            Parallel.forEachChunk(n * groups) { _, blocks in
                for block in blocks {
                    let image = block / groups, g0 = (block % groups) * perGroup
                    let src = xp + block * m, grad = gp + block * m
                    let mu = st[2 * block], inv = st[2 * block + 1]
                    var sumD: T = 0, sumDXhat: T = 0
                    for j in 0..<perGroup {
                        let gamma = wp?[g0 + j] ?? 1
                        var dyS: T = 0, dyX: T = 0
                        for k in 0..<inner {
                            let dy = grad[j * inner + k], xhat = (src[j * inner + k] - mu) * inv
                            dyS += dy; dyX += dy * xhat
                        }
                        pb[image * c + g0 + j] = dyS; pg[image * c + g0 + j] = dyX
                        sumD += dyS * gamma; sumDXhat += dyX * gamma
                    }
                    guard let dxp else { continue }
                    let meanD = sumD / T(m), meanDXhat = sumDXhat / T(m)
                    for j in 0..<perGroup {
                        let gamma = wp?[g0 + j] ?? 1
                        for k in 0..<inner {
                            let i = j * inner + k
                            let xhat = (src[i] - mu) * inv
                            dxp[block * m + i] = inv * (grad[i] * gamma - meanD - xhat * meanDXhat)
                        }
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        var grads: [Tensor?] = [dx]
        if let weight { grads.append(weight.requiresGrad ? partialGamma.sum(axes: [0]) : nil) }
        if let bias { grads.append(bias.requiresGrad ? partialBeta.sum(axes: [0]) : nil) }
        return grads
    }
}

// MARK: - per-channel loops (SIMD for float32)

@inline(__always)
func channelSum<T: TensorScalar>(_ x: UnsafePointer<T>, _ n: Int) -> T {
    if T.self == Float.self { return VectorKernels.sum(UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), n) as! T }
    var s: T = 0
    for k in 0..<n { s += x[k] }
    return s
}

@inline(__always)
func channelCenteredSquares<T: TensorScalar>(_ x: UnsafePointer<T>, _ mean: T, _ n: Int) -> T {
    if T.self == Float.self {
        return VectorKernels.centeredSquares(UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), mean as! Float, n) as! T
    }
    var s: T = 0
    for k in 0..<n { let d = x[k] - mean; s += d * d }
    return s
}

/// z = a x + b, or max(a x + b, 0).
@inline(__always)
func channelAffine<T: TensorScalar>(_ x: UnsafePointer<T>, _ a: T, _ b: T, _ z: UnsafeMutablePointer<T>, _ n: Int, relu: Bool) {
    if T.self == Float.self {
        let xf = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), zf = UnsafeMutableRawPointer(z).assumingMemoryBound(to: Float.self)
        if relu { VectorKernels.affineReLU(xf, a as! Float, b as! Float, zf, n) } else { VectorKernels.affine(xf, a as! Float, b as! Float, zf, n) }
        return
    }
    for k in 0..<n { let v = x[k] * a + b; z[k] = relu && v < 0 ? 0 : v }
}

/// z = max(a x + b + r, 0).
@inline(__always)
func channelAffineAddReLU<T: TensorScalar>(_ x: UnsafePointer<T>, _ a: T, _ b: T, _ r: UnsafePointer<T>, _ z: UnsafeMutablePointer<T>, _ n: Int) {
    if T.self == Float.self {
        VectorKernels.affineAddReLU(UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), a as! Float, b as! Float,
                                    UnsafeRawPointer(r).assumingMemoryBound(to: Float.self),
                                    UnsafeMutableRawPointer(z).assumingMemoryBound(to: Float.self), n)
        return
    }
    for k in 0..<n { let v = (x[k] * a + b) + r[k]; z[k] = v < 0 ? 0 : v }
}

/// The ReLU after a BatchNorm channel, for the mask of its gradient: its input was
/// x * scale + shift (+ residual), with the values of `batchNormApply` (the same operations).
struct ReLUMask<T: TensorScalar> {
    let scale: T, shift: T
    let residual: UnsafePointer<T>?

    /// Whether the ReLU's input at `index` (of the whole tensor) was positive.
    @inline(__always)
    func open(_ x: T, at index: Int) -> Bool {
        let v = x * scale + shift
        return (residual.map { v + $0[index] } ?? v) > 0
    }
}

/// (sum g', sum g' (x - mean)) with g' = g, or g where the ReLU's input was positive.
/// `offset`: where x and g start in the whole tensor (for the residual).
@inline(__always)
func channelGradientMoments<T: TensorScalar>(_ g: UnsafePointer<T>, _ mask: ReLUMask<T>?, offset: Int, _ x: UnsafePointer<T>, _ mean: T,
                                             _ n: Int) -> (T, T) {
    if T.self == Float.self {
        let gf = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), xf = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
        let (a, b) = mask.map {
            VectorKernels.reluGradientMoments(gf, xf, $0.residual.map { UnsafeRawPointer($0 + offset).assumingMemoryBound(to: Float.self) },
                                              scale: $0.scale as! Float, shift: $0.shift as! Float, mean as! Float, n)
        } ?? VectorKernels.gradientMoments(gf, xf, mean as! Float, n)
        return (a as! T, b as! T)
    }
    var a: T = 0, b: T = 0
    for k in 0..<n {
        let gv = mask.map { $0.open(x[k], at: offset + k) ? g[k] : 0 } ?? g[k]
        a += gv; b += gv * (x[k] - mean)
    }
    return (a, b)
}

/// d = a (g' - b - (x - mean) c), g' as above.
@inline(__always)
func channelNormalizationBackward<T: TensorScalar>(_ g: UnsafePointer<T>, _ mask: ReLUMask<T>?, offset: Int, _ x: UnsafePointer<T>,
                                                   _ d: UnsafeMutablePointer<T>, a: T, b: T, c: T, mean: T, _ n: Int) {
    if T.self == Float.self {
        let gf = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), xf = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
        let df = UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self)
        if let mask {
            VectorKernels.reluNormalizationBackward(gf, xf, mask.residual.map { UnsafeRawPointer($0 + offset).assumingMemoryBound(to: Float.self) }, df,
                                                    scale: mask.scale as! Float, shift: mask.shift as! Float,
                                                    a: a as! Float, b: b as! Float, c: c as! Float, mean: mean as! Float, n)
        } else {
            VectorKernels.normalizationBackward(gf, xf, df, a: a as! Float, b: b as! Float, c: c as! Float, mean: mean as! Float, n)
        }
        return
    }
    for k in 0..<n {
        let gv = mask.map { $0.open(x[k], at: offset + k) ? g[k] : 0 } ?? g[k]
        d[k] = a * (gv - b - (x[k] - mean) * c)
    }
}

/// The residual's gradient through BatchNorm+add+ReLU: g where x * scale + shift + r > 0.
func residualGradient(_ g: Tensor, _ x: Tensor, _ r: Tensor, affine: Tensor) -> Tensor {
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let d = Tensor(shape: g.shape, dtype: g.dtype, zeroed: false)
    func kernel<T: TensorScalar>(_: T.Type) {
        let gp = g.pointer(T.self), xp = x.pointer(T.self), rp = UnsafePointer(r.pointer(T.self)), ap = affine.pointer(T.self)
        let dp = d.pointer(T.self)
        Parallel.forEachChunk(c) { _, channels in
            for ch in channels {
                let mask = ReLUMask(scale: ap[ch], shift: ap[c + ch], residual: rp)
                for i in 0..<n {
                    let offset = (i * c + ch) * inner
                    if T.self == Float.self {
                        VectorKernels.reluMasked(UnsafeRawPointer(gp + offset).assumingMemoryBound(to: Float.self),
                                                 UnsafeRawPointer(xp + offset).assumingMemoryBound(to: Float.self),
                                                 UnsafeRawPointer(rp + offset).assumingMemoryBound(to: Float.self),
                                                 scale: mask.scale as! Float, shift: mask.shift as! Float,
                                                 UnsafeMutableRawPointer(dp + offset).assumingMemoryBound(to: Float.self), inner)
                    } else {
                        for k in 0..<inner { dp[offset + k] = mask.open(xp[offset + k], at: offset + k) ? gp[offset + k] : 0 }
                    }
                }
            }
        }
    }
    if g.dtype == .float32 && PackedChannels.group(inner: inner, channels: c) != nil {
        PackedChannels.residualGradient(g: g.pointer(Float.self), x: x.pointer(Float.self), r: r.pointer(Float.self),
                                        affine: affine.pointer(Float.self), into: d.pointer(Float.self), images: n, channels: c, inner: inner)
    } else {
        g.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
    }
    return d
}
