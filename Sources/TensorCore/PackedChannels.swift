/// BatchNorm on small maps, float32: channels packed several to a vector.
///
/// With x [N, C, inner], one image's channels ch ..< ch + 16 / inner are 16 consecutive values
/// when `inner` divides 16 (ResNet-18-64's 2x2 maps: 4; a BatchNorm over features [N, C]: 1).
/// The per-channel kernels (`channelGradientMoments`, `channelSum`, `channelAffine`: one call
/// per image and channel) then ran their vector loops not at all and their scalar tails and
/// horizontal sums once per 4 values: on 2x2 maps, the backward took 6 times the time per value
/// of 16x16 maps. Here one 16-lane vector holds a group of channels of one image (lane l:
/// channel ch + l / inner), the sums run lane by lane over the images, and each channel's lanes
/// are added once at the end (`channelTotal`).
///
/// The ReLU mask is recomputed from x (and r) with the forward pass's operations, lane by lane
/// (`VectorKernels.reluPre`), so it is the forward output's sign bit for bit, as on the
/// per-channel path. Each channel's sums are over the same values in another order (per lane
/// over images, then over the lanes in float64, instead of per image then over images), so
/// results differ from that path in the last bits; they do not depend on the thread count
/// (threads own whole groups).
enum PackedChannels {
    typealias V = VectorKernels.V

    /// Channels per vector, or nil where the maps do not pack: `inner` not a divisor of 8, or a
    /// channel count that is not a multiple of the group. (4x4 maps, one channel a vector,
    /// stay on the per-channel path: there its vector loop runs, and packing was no faster,
    /// 0.7-0.8 ms either way for [64, 256, 4, 4]; on 2x2 maps it took 0.3-0.4 ms against 2.0-2.6.)
    static func group(inner: Int, channels: Int) -> Int? {
        guard inner >= 1, inner < VectorKernels.width, VectorKernels.width % inner == 0 else { return nil }
        let group = VectorKernels.width / inner
        return channels % group == 0 ? group : nil
    }

    /// A vector whose lane l holds values[first + l / inner] (each channel's value over its lanes).
    @inline(__always)
    static func lanes(_ values: UnsafePointer<Float>, first: Int, inner: Int) -> V {
        var v = V()
        for lane in 0..<VectorKernels.width { v[lane] = values[first &+ lane / inner] }
        return v
    }

    /// Channel j's lanes of `v` (lanes j inner ..< (j + 1) inner) added in order, in float64.
    @inline(__always)
    static func channelTotal(_ v: V, _ j: Int, inner: Int) -> Double {
        var total = 0.0
        for lane in j &* inner..<(j &+ 1) &* inner { total += Double(v[lane]) }
        return total
    }

    /// `v` with channel j's lanes set to `value` (the inverse of `channelTotal`'s grouping).
    @inline(__always)
    static func setting(_ v: inout V, _ j: Int, inner: Int, to value: Float) {
        for lane in j &* inner..<(j &+ 1) &* inner { v[lane] = value }
    }

    /// out = x scale + shift per channel (`affine` [2, C]: scales, then shifts), then + r and
    /// ReLU as `batchNorm` asks, for one group of channels: the same operations lane by lane as
    /// `VectorKernels.affine`, `affineReLU` and `affineAddReLU` on the per-channel path.
    @inline(__always)
    static func apply(_ x: UnsafePointer<Float>, _ affine: UnsafePointer<Float>, _ r: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                      group index: Int, images n: Int, channels c: Int, inner: Int, relu: Bool) {
        let first = index &* (VectorKernels.width / inner), zero = V(repeating: 0)
        let scale = lanes(affine, first: first, inner: inner), shift = lanes(affine + c, first: first, inner: inner)
        for i in 0..<n {
            let offset = (i &* c &+ first) &* inner
            var v = VectorKernels.load(x + offset) * scale + shift
            if let r { v = v + VectorKernels.load(r + offset) }
            VectorKernels.store(relu ? v.replacing(with: zero, where: v .< zero) : v, out + offset)
        }
    }

    /// `apply` over all groups, threads by groups.
    static func apply(_ x: UnsafePointer<Float>, _ affine: UnsafePointer<Float>, _ r: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>,
                      images n: Int, channels c: Int, inner: Int, relu: Bool) {
        Parallel.forEachChunk(c / (VectorKernels.width / inner)) { _, groups in
            for index in groups { apply(x, affine, r, out, group: index, images: n, channels: c, inner: inner, relu: relu) }
        }
    }

    /// BatchNorm's forward (see `batchNorm`): per channel, the batch's mean and biased variance
    /// in training (running statistics updated as there) or the running statistics, written
    /// to `mean`, `invstd` and `affine` (scale = invstd weight, shift = bias - mean scale), and
    /// the output through `apply`. Each channel's sums run lane by lane over the images, then
    /// over its lanes in float64.
    static func batchNormForward(x: UnsafePointer<Float>, r: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                                 weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                 runningMean: UnsafeMutablePointer<Float>?, runningVar: UnsafeMutablePointer<Float>?,
                                 mean: UnsafeMutablePointer<Float>, invstd: UnsafeMutablePointer<Float>, affine: UnsafeMutablePointer<Float>,
                                 images n: Int, channels c: Int, inner: Int, training: Bool, momentum: Double, epsilon: Double, relu: Bool) {
        let group = VectorKernels.width / inner, m = Double(n * inner)
        let zero = V(repeating: 0)
        Parallel.forEachChunk(c / group) { _, groups in
            for index in groups {
                let first = index &* group
                if training {
                    var s = zero
                    for i in 0..<n { s += VectorKernels.load(x + (i &* c &+ first) &* inner) }
                    // The means in float64 for the running statistics, as on the per-channel path.
                    var mus = SIMD16<Double>()
                    for j in 0..<group {
                        mus[j] = channelTotal(s, j, inner: inner) / m
                        mean[first &+ j] = Float(mus[j])
                    }
                    let vmean = lanes(mean, first: first, inner: inner)
                    var t = zero
                    for i in 0..<n {
                        let d = VectorKernels.load(x + (i &* c &+ first) &* inner) - vmean
                        t += d * d
                    }
                    for j in 0..<group {
                        let ch = first &+ j
                        let variance = channelTotal(t, j, inner: inner) / m
                        if let runningMean, let runningVar {
                            runningMean[ch] = Float((1 - momentum) * Double(runningMean[ch]) + momentum * mus[j])
                            runningVar[ch] = Float((1 - momentum) * Double(runningVar[ch]) + momentum * variance * m / (m - 1))
                        }
                        invstd[ch] = Float(1 / (variance + epsilon).squareRoot())
                    }
                } else {
                    guard let runningMean, let runningVar else { preconditionFailure("batchNorm in evaluation needs running statistics") }
                    for ch in first..<first &+ group {
                        mean[ch] = runningMean[ch]
                        invstd[ch] = Float(1 / (Double(runningVar[ch]) + epsilon).squareRoot())
                    }
                }
                for ch in first..<first &+ group {
                    let scale = invstd[ch] * (weight?[ch] ?? 1)
                    affine[ch] = scale
                    affine[c &+ ch] = (bias?[ch] ?? 0) - mean[ch] * scale
                }
                apply(x, affine, r, out, group: index, images: n, channels: c, inner: inner, relu: relu)
            }
        }
    }

    /// BatchNorm's backward (see `batchNorm`): dbeta = Σ g', dgamma = Σ g' x̂ per channel, and,
    /// when `dx` is given, dx = gamma invstd (g' - b - x̂ c) with b = Σ g' / M and c = Σ g' x̂ / M
    /// in training (b = c = 0 in evaluation), g' = g masked by the ReLU when `affine` (the
    /// forward's [2, C] scales and shifts) is given, with the residual `r` in its input.
    static func batchNormBackward(x: UnsafePointer<Float>, g: UnsafePointer<Float>, r: UnsafePointer<Float>?, affine: UnsafePointer<Float>?,
                                  mean: UnsafePointer<Float>, invstd: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                  dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                                  images n: Int, channels c: Int, inner: Int, training: Bool) {
        let group = VectorKernels.width / inner, m = Double(n * inner)
        let zero = V(repeating: 0)
        Parallel.forEachChunk(c / group) { _, groups in
            for index in groups {
                let first = index &* group
                let vmean = lanes(mean, first: first, inner: inner)
                let scale = affine.map { lanes($0, first: first, inner: inner) }, shift = affine.map { lanes($0 + c, first: first, inner: inner) }
                @inline(__always) func masked(_ offset: Int) -> V {
                    let gv = VectorKernels.load(g + offset)
                    guard let scale, let shift else { return gv }
                    return gv.replacing(with: zero, where: VectorKernels.reluPre(x, r, offset, scale, shift) .<= zero)
                }
                var s = zero, t = zero
                for i in 0..<n {
                    let offset = (i &* c &+ first) &* inner
                    let gv = masked(offset)
                    s += gv
                    t += gv * (VectorKernels.load(x + offset) - vmean)
                }
                var va = zero, vb = zero, vc = zero
                for j in 0..<group {
                    let ch = first &+ j, inv = invstd[ch]
                    let sumDy = channelTotal(s, j, inner: inner), sumDyXhat = channelTotal(t, j, inner: inner) * Double(inv)
                    dbeta[ch] = Float(sumDy); dgamma[ch] = Float(sumDyXhat)
                    let a = (weight?[ch] ?? 1) * inv
                    let b: Float = training ? Float(sumDy / m) : 0, cc: Float = training ? inv * Float(sumDyXhat / m) : 0
                    setting(&va, j, inner: inner, to: a); setting(&vb, j, inner: inner, to: b); setting(&vc, j, inner: inner, to: cc)
                }
                guard let dx else { continue }
                for i in 0..<n {
                    let offset = (i &* c &+ first) &* inner
                    VectorKernels.store(va * (masked(offset) - vb - (VectorKernels.load(x + offset) - vmean) * vc), dx + offset)
                }
            }
        }
    }

    /// The residual's gradient through BatchNorm+add+ReLU (`residualGradient`): g where
    /// x scale + shift + r > 0, a group of channels of one image per vector.
    static func residualGradient(g: UnsafePointer<Float>, x: UnsafePointer<Float>, r: UnsafePointer<Float>, affine: UnsafePointer<Float>,
                                 into d: UnsafeMutablePointer<Float>, images n: Int, channels c: Int, inner: Int) {
        let group = VectorKernels.width / inner
        let zero = V(repeating: 0)
        Parallel.forEachChunk(c / group) { _, groups in
            for index in groups {
                let first = index &* group
                let scale = lanes(affine, first: first, inner: inner), shift = lanes(affine + c, first: first, inner: inner)
                for i in 0..<n {
                    let offset = (i &* c &+ first) &* inner
                    let closed = VectorKernels.reluPre(x, r, offset, scale, shift) .<= zero
                    VectorKernels.store(VectorKernels.load(g + offset).replacing(with: zero, where: closed), d + offset)
                }
            }
        }
    }
}
