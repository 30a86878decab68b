import RealModule

/// Batch normalisation over axis 1 of x [N, C] or [N, C, ...]:
/// y = (x - mean) / sqrt(var + eps) * weight + bias, with the batch's mean and biased variance
/// in training (running statistics updated as running = (1 - momentum) * running + momentum *
/// batch, with the unbiased variance, as PyTorch does; momentum 1 keeps the last batch's) and
/// the running statistics in evaluation.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Double = 0.1, epsilon: Double = 1e-5) -> Tensor {
    precondition(x.rank >= 2, "batchNorm needs [N, C, ...], not \(x.shape)")
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let m = n * inner
    precondition(!training || m > 1, "batchNorm in training needs more than one value per channel (input \(x.shape))")
    let out = Tensor(shape: x.shape, dtype: x.dtype, zeroed: false)
    let mean = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
    let invstd = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self)
        let mp = mean.pointer(T.self), sp = invstd.pointer(T.self)
        let gp = weight?.pointer(T.self), bp = bias?.pointer(T.self)
        let rm = runningMean?.pointer(T.self), rv = runningVar?.pointer(T.self)
        Parallel.forEachChunk(c) { _, channels in
            for ch in channels {
                var mu: Double, variance: Double
                if training {
                    var sum = 0.0
                    for i in 0..<n { let p = xp + (i * c + ch) * inner; var s: T = 0; for k in 0..<inner { s += p[k] }; sum += Double(s) }
                    mu = sum / Double(m)
                    var squares = 0.0
                    let muT = T(mu)
                    for i in 0..<n {
                        let p = xp + (i * c + ch) * inner
                        var s: T = 0
                        for k in 0..<inner { let d = p[k] - muT; s += d * d }
                        squares += Double(s)
                    }
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
                let shift = (bp?[ch] ?? 0) - T(mu) * scale
                for i in 0..<n {
                    let src = xp + (i * c + ch) * inner, dst = op + (i * c + ch) * inner
                    for k in 0..<inner { dst[k] = src[k] * scale + shift }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return record(out, "batchNorm", inputs) { g in
        let dx = x.requiresGrad ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
        let dgamma = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
        let dbeta = Tensor(shape: [c], dtype: x.dtype, zeroed: false)
        func backward<T: TensorScalar>(_: T.Type) {
            let xp = x.pointer(T.self), gp = g.pointer(T.self)
            let mp = mean.pointer(T.self), sp = invstd.pointer(T.self), wp = weight?.pointer(T.self)
            let dgp = dgamma.pointer(T.self), dbp = dbeta.pointer(T.self), dxp = dx?.pointer(T.self)
            Parallel.forEachChunk(c) { _, channels in
                for ch in channels {
                    let mu = mp[ch], inv = sp[ch]
                    var sumDy = 0.0, sumDyXhat = 0.0
                    for i in 0..<n {
                        let xs = xp + (i * c + ch) * inner, gs = gp + (i * c + ch) * inner
                        var a: T = 0, b: T = 0
                        for k in 0..<inner { a += gs[k]; b += gs[k] * (xs[k] - mu) }
                        sumDy += Double(a); sumDyXhat += Double(b) * Double(inv)
                    }
                    dbp[ch] = T(sumDy); dgp[ch] = T(sumDyXhat)
                    guard let dxp else { continue }
                    let gamma = wp?[ch] ?? 1
                    if training {
                        // dx = gamma * invstd / M * (M dy - sum(dy) - xhat * sum(dy xhat))
                        let a = gamma * inv, meanDy = T(sumDy / Double(m)), meanDyXhat = T(sumDyXhat / Double(m))
                        for i in 0..<n {
                            let xs = xp + (i * c + ch) * inner, gs = gp + (i * c + ch) * inner, ds = dxp + (i * c + ch) * inner
                            for k in 0..<inner { ds[k] = a * (gs[k] - meanDy - (xs[k] - mu) * inv * meanDyXhat) }
                        }
                    } else {
                        let a = gamma * inv
                        for i in 0..<n {
                            let gs = gp + (i * c + ch) * inner, ds = dxp + (i * c + ch) * inner
                            for k in 0..<inner { ds[k] = a * gs[k] }
                        }
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        var grads: [Tensor?] = [dx]
        if let weight { grads.append(weight.requiresGrad ? dgamma : nil) }
        if let bias { grads.append(bias.requiresGrad ? dbeta : nil) }
        return grads
    }
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
    return record(out, "groupNorm", inputs) { g in
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
