/// Convolution of maps no larger than the kernel's reach as one dense linear map per layer.
///
/// One image's convolution is a linear map from its C·Q inputs (Q = H·W) to its O·P outputs
/// (P = OH·OW). With x in NCHW each image is one contiguous row of C·Q values and each output
/// image one row of O·P values, so for the whole batch
///     out [N, O·P] = x [N, C·Q] × Dᵀ (+ bias),
///     D [(o, p), (c, q)] = w[o, c, kh, kw]  where output position p reads input position q
///                                            through tap (kh, kw), 0 where no tap connects them.
/// A pair (p, q) is connected by at most one tap (for a fixed output row, the input row fixes
/// kh; likewise kw), so D is well defined. Backward, with the same D:
///     dx [N, C·Q] = dout [N, O·P] × D,
///     dD [O·P, C·Q] = doutᵀ × x,   dw[o, c, kh, kw] = Σ_p dD[(o, p), (c, q(p, kh, kw))]
/// over the output positions p whose tap (kh, kw) reads inside the image, in ascending p.
///
/// D's [O, C] block at (p, q) is the weight's tap matrix W_t [O, C] (t the tap connecting them)
/// or zero, so the products run block by block over the connected pairs (p, q, t) without
/// writing D out (a 2x2 map has 16 pairs over 9 taps: D would copy the weight 1.8 times, and
/// building it cost more than the multiplications it saved):
///     outᵀ_p [O, N] = Σ_(p,q,t) W_t × xᵀ_q,          xᵀ_q [C, N] = x[:, :, q]
///     dxᵀ_q [C, N] = Σ_(p,q,t) W_tᵀ × doutᵀ_p,
///     dW_t [O, C]  = Σ_(p,q,t) doutᵀ_p × x_q          (p ascending)
/// with the tap matrices copied out of w [O, C, KH, KW] once per call (only the taps some pair
/// uses), and x, dout and the results transposed to position-major layouts around the GEMMs.
///
/// im2col multiplies every output by all KH·KW taps of every channel, including the ones that
/// read padding; this path does N·O·C multiplications per connected pair, N·O·P·C·H·W at most,
/// instead of N·O·P·C·KH·KW (on ResNet-18's last 2x2 maps, 16 pairs instead of 36 products per
/// image and channel pair, and no column matrix). Its extra cost is the copy of the tap
/// matrices, once per call whatever the batch: see `preferred`.
///
/// Threads own disjoint output channels (forward pass, weight gradient) or input channels
/// (input gradient) in fixed chunks, the forward pass and input gradient in equal blocks of
/// channels whose tap matrices fit `blockBudget`; every sum runs over the pairs in a fixed
/// order, so results are bit-identical run to run for a given thread count.
struct DensePlan {
    /// A connected output position p, input position q and the tap t = kh·KW + kw between them.
    typealias Pair = (p: Int, q: Int, tap: Int)

    let geometry: ConvGeometry
    let batch: Int, outChannels: Int
    /// The connected (output position, input position, tap) triples, by p then q.
    let pairs: [Pair]
    /// The same, by q then p (the input gradient sums per input position).
    let pairsByInput: [Pair]
    /// Each tap's pairs, p ascending (empty for taps that only read padding).
    let pairsByTap: [[Pair]]
    /// The taps some pair uses, ascending, and each tap's slot among them (-1: unused).
    let usedTaps: [Int]
    let slot: [Int]
    /// Values of tap matrices per block (forward pass, input gradient).
    let blockBudget: Int

    /// 2 MiB of float32 per thread, what the im2col path's column matrix takes on the layers this
    /// path serves (ResNet-18's 2x2 layer at batch 64: 4608 x 128).
    static let defaultBlockBudget = 512 * 1024

    /// Whether the automatic choice takes this path: maps no larger than the kernel
    /// (H·W ≤ KH·KW), at least 16 input and output channels, and a batch large enough to pay
    /// for copying the tap matrices: per value copied (O·C per used tap), the forward pass saves
    /// N·(KH·KW·P - pairs)/(used taps) multiplications, which must reach `minimumSaving`.
    /// A 3x3 map under a 3x3 kernel with padding 1 has 49 pairs against im2col's 81 products:
    /// the small CNN's 128 -> 256 layer at 3x3, batch 64, forward + backward 4.95 -> 3.90 ms
    /// (256 -> 512 at batch 32: 12.3 -> 11.1 ms, 64 -> 64 at batch 16: 0.37 -> 0.23 ms; 512 ->
    /// 512 at batch 8, saving 28, stays with im2col: 7.1 against 9.4 ms dense).
    static func preferred(_ g: ConvGeometry, batch: Int, outChannels: Int) -> Bool {
        let inputs = g.height * g.width, taps = g.kernelH * g.kernelW
        guard inputs <= taps && g.channels >= 16 && outChannels >= 16 else { return false }
        let pairs = connections(g), used = Set(pairs.map(\.tap)).count
        return batch * (taps * g.positions - pairs.count) >= minimumSaving * Swift.max(used, 1)
    }

    /// Forward + backward time against im2col's, release build, 2 threads, a machine shared with
    /// another job (saving in brackets): 512 -> 512 at 2x2, batch 64 (142) 0.81x, batch 32 (71)
    /// 1.0-1.14x, batch 16 (36) 1.19x, batch 1 1.6x; 64 -> 64 at 2x2, batch 16 (36) 0.93x;
    /// 256 -> 256 at 1x1, batch 64 (512) 0.47x, batch 8 (64) 0.71x, batch 1 (8) 1.27x. The
    /// threshold lies between 36 and 64.
    static let minimumSaving = 48

    private static func connections(_ g: ConvGeometry) -> [Pair] {
        var pairs: [Pair] = []
        for oh in 0..<g.outH {
            for ow in 0..<g.outW {
                for kh in 0..<g.kernelH {
                    for kw in 0..<g.kernelW {
                        let ih = oh * g.strideH - g.padH + kh, iw = ow * g.strideW - g.padW + kw
                        guard ih >= 0 && ih < g.height && iw >= 0 && iw < g.width else { continue }
                        pairs.append((oh * g.outW + ow, ih * g.width + iw, kh * g.kernelW + kw))
                    }
                }
            }
        }
        return pairs.sorted { ($0.p, $0.q) < ($1.p, $1.q) }
    }

    init(geometry g: ConvGeometry, batch: Int, outChannels: Int, blockBudget: Int = DensePlan.defaultBlockBudget) {
        geometry = g
        self.batch = batch
        self.outChannels = outChannels
        self.blockBudget = blockBudget
        pairs = DensePlan.connections(g)
        pairsByInput = pairs.sorted { ($0.q, $0.p) < ($1.q, $1.p) }
        let connected = pairs
        pairsByTap = (0..<g.kernelH * g.kernelW).map { t in connected.filter { $0.tap == t } }
        usedTaps = Set(pairs.map(\.tap)).sorted()
        var slot = [Int](repeating: -1, count: g.kernelH * g.kernelW)
        for (i, t) in usedTaps.enumerated() { slot[t] = i }
        self.slot = slot
    }

    var taps: Int { geometry.kernelH * geometry.kernelW }
    var positions: Int { geometry.positions }
    /// Input positions per channel, Q.
    var inputs: Int { geometry.height * geometry.width }

    /// Runs body(block, scratch) over `count` channels split over the threads in fixed chunks,
    /// each chunk in equal blocks of channels whose `perChannel` scratch values fit the block
    /// budget.
    func forEachBlock<T: TensorScalar>(_: T.Type, _ count: Int, perChannel: Int,
                                       _ body: (_ block: Range<Int>, _ scratch: UnsafeMutablePointer<T>) -> Void) {
        let most = Swift.max(1, blockBudget / Swift.max(1, perChannel))
        Parallel.forEachChunk(count) { _, channels in
            // Equal blocks (no thin last one): as few as the budget allows.
            let pieces = (channels.count + most - 1) / most, size = (channels.count + pieces - 1) / pieces
            withScratch(T.self, count: size * perChannel) { scratch in
                for start in stride(from: channels.lowerBound, to: channels.upperBound, by: size) {
                    body(start..<Swift.min(channels.upperBound, start + size), scratch)
                }
            }
        }
    }

    /// u[slot][o - rows.lowerBound][c - columns.lowerBound] = w[o, c, usedTaps[slot]]: the used
    /// tap matrices restricted to `rows` x `columns`, each [rows.count, columns.count].
    @inline(__always)
    func tapMatrices<T: TensorScalar>(_ w: UnsafePointer<T>, rows: Range<Int>, columns: Range<Int>, into u: UnsafeMutablePointer<T>) {
        let (C, taps) = (geometry.channels, taps)
        let block = rows.count &* columns.count
        usedTaps.withUnsafeBufferPointer { used in
            for o in rows {
                let line = (o &- rows.lowerBound) &* columns.count &- columns.lowerBound
                for c in columns {
                    let kernel = w + (o &* C &+ c) &* taps
                    var dst = u + (line &+ c)
                    for t in used { dst.pointee = kernel[t]; dst += block }
                }
            }
        }
    }

    /// dst[j, i, r] = src[r, i, j] for i in `inner`: src [R, I, J] to dst [J, I, R] (x [N, C, Q]
    /// to xᵀ [Q, C, N], dout likewise), the channels `inner` only.
    @inline(__always)
    static func transpose<T: TensorScalar>(_ src: UnsafePointer<T>, outer: Int, inner: Range<Int>, innerCount: Int, last: Int,
                                           into dst: UnsafeMutablePointer<T>) {
        for r in 0..<outer {
            for i in inner {
                let from = src + (r &* innerCount &+ i) &* last
                for j in 0..<last { dst[(j &* innerCount &+ i) &* outer &+ r] = from[j] }
            }
        }
    }

    /// `transpose` of a whole [N, channels, positions] tensor to [positions, channels, N],
    /// channels split over the threads.
    func transposeBatch<T: TensorScalar>(_ src: UnsafePointer<T>, channels: Int, positions: Int, into dst: UnsafeMutablePointer<T>) {
        Parallel.forEachChunk(channels) { _, range in
            DensePlan.transpose(src, outer: batch, inner: range, innerCount: channels, last: positions, into: dst)
        }
    }

    /// The inverse of `transpose`, plus a per-channel shift: dst[r, i, j] = src[j, i, r]
    /// (+ shift[i]) for i in `inner` (outᵀ [P, O, N] back to out [N, O, P], dxᵀ likewise).
    @inline(__always)
    static func untranspose<T: TensorScalar>(_ src: UnsafePointer<T>, outer: Int, inner: Range<Int>, innerCount: Int, last: Int,
                                             shift: UnsafePointer<T>? = nil, into dst: UnsafeMutablePointer<T>) {
        for r in 0..<outer {
            for i in inner {
                let row = dst + (r &* innerCount &+ i) &* last, b = shift?[i] ?? 0
                for j in 0..<last { row[j] = src[(j &* innerCount &+ i) &* outer &+ r] + b }
            }
        }
    }

    /// For each position s in 0..<count, target(s) [rows, columns] = the sum of product(pair)
    /// over the pairs of `list` whose `key` is s (consecutive in `list`, summed in its order):
    /// product writes its GEMM into the target with the given beta, 0 for the first pair, 1
    /// after; a position with no pair gets zeros.
    @inline(__always)
    static func accumulate<T: TensorScalar>(_ list: [Pair], by key: KeyPath<Pair, Int>, count: Int, rows: Int, columns: Int,
                                            target: (Int) -> UnsafeMutablePointer<T>,
                                            _ product: (_ pair: Pair, _ beta: T, _ target: UnsafeMutablePointer<T>) -> Void) {
        var start = 0
        for s in 0..<count {
            let c = target(s)
            var beta: T = 0
            while start < list.count && list[start][keyPath: key] == s {
                product(list[start], beta, c)
                beta = 1
                start += 1
            }
            if beta == 0 { for r in 0..<rows { (c + r * columns).update(repeating: 0, count: columns) } }
        }
    }

    /// out [N, O·P] = x [N, C·Q] × Dᵀ (+ bias), threads by output channels.
    func forward<T: TensorScalar>(_ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?, _ out: UnsafeMutablePointer<T>) {
        let (N, O, C, P, Q) = (batch, outChannels, geometry.channels, positions, inputs)
        withScratch(T.self, count: Q * C * N) { xT in
            transposeBatch(x, channels: C, positions: Q, into: xT)
            withScratch(T.self, count: P * O * N) { outT in
                forEachBlock(T.self, O, perChannel: usedTaps.count * C) { block, u in
                    tapMatrices(w, rows: block, columns: 0..<C, into: u)
                    let m = block.count
                    DensePlan.accumulate(pairs, by: \.p, count: P, rows: m, columns: N,
                                         target: { outT + ($0 * O + block.lowerBound) * N }) { pair, beta, target in
                        GEMM.run(m: m, n: N, k: C, a: u + slot[pair.tap] * m * C, lda: C, b: xT + pair.q * C * N, ldb: N,
                                 beta: beta, c: target, ldc: N)
                    }
                    DensePlan.untranspose(outT, outer: N, inner: block, innerCount: O, last: P, shift: bias, into: out)
                }
            }
        }
    }

    /// The gradients of x and w (where asked for) from dout [N, O·P], which both read
    /// transposed to doutᵀ [P, O, N]: transposed once here for both.
    func backward<T: TensorScalar>(_ dout: UnsafePointer<T>, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>,
                                   dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?) {
        withScratch(T.self, count: positions * outChannels * batch) { doutT in
            transposeBatch(dout, channels: outChannels, positions: positions, into: doutT)
            if let dx { inputGradient(doutT, w, into: dx) }
            if let dw { weightGradient(doutT, x, into: dw) }
        }
    }

    /// dx [N, C·Q] = dout [N, O·P] × D from doutᵀ [P, O, N], threads by input channels.
    func inputGradient<T: TensorScalar>(_ doutT: UnsafePointer<T>, _ w: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>) {
        let (N, O, C, Q) = (batch, outChannels, geometry.channels, inputs)
        withScratch(T.self, count: Q * C * N) { dxT in
            forEachBlock(T.self, C, perChannel: usedTaps.count * O) { block, u in
                tapMatrices(w, rows: 0..<O, columns: block, into: u)
                let m = block.count
                DensePlan.accumulate(pairsByInput, by: \.q, count: Q, rows: m, columns: N,
                                     target: { dxT + ($0 * C + block.lowerBound) * N }) { pair, beta, target in
                    GEMM.run(transA: true, m: m, n: N, k: O, a: u + slot[pair.tap] * O * m, lda: m, b: doutT + pair.p * O * N,
                             ldb: N, beta: beta, c: target, ldc: N)
                }
                DensePlan.untranspose(dxT, outer: N, inner: block, innerCount: C, last: Q, into: dx)
            }
        }
    }

    /// dw [O, C, KH, KW] from dW_t = Σ doutᵀ_p × x_q over the tap's pairs, as one GEMM per tap
    /// whose inner dimension stacks the pairs (p ascending): [doutᵀ_p1 | doutᵀ_p2 | …] ×
    /// [x_q1 | x_q2 | …]ᵀ, threads by output channels. (A GEMM per pair, accumulating, had an
    /// inner dimension of only N and rewrote dW_t once per pair: slower than im2col.) `doutT` is
    /// doutᵀ [P, O, N]. The taps' results are kept until the last and then written to dw in its
    /// own order: written tap by tap, every pass over dw (9.4 MB for 512 x 512 channels)
    /// stored one value in nine.
    func weightGradient<T: TensorScalar>(_ doutT: UnsafePointer<T>, _ x: UnsafePointer<T>, into dw: UnsafeMutablePointer<T>) {
        let (N, O, C, Q, taps) = (batch, outChannels, geometry.channels, inputs, taps)
        let longest = pairsByTap.map(\.count).max() ?? 0
        withScratch(T.self, count: Q * C * N) { xT in
            transposeBatch(x, channels: C, positions: Q, into: xT)
            Parallel.forEachChunk(O) { _, channels in
                let (m, lo) = (channels.count, channels.lowerBound)
                // Per tap t: rt [m, C] at results + t m C; then the GEMMs' operands.
                withScratch(T.self, count: taps * m * C + (m + C) * longest * N) { buffer in
                    let results = buffer, a = buffer + taps * m * C
                    for t in 0..<taps {
                        let list = pairsByTap[t], k = list.count * N
                        let b = a + m * k, r = results + t * m * C
                        if list.isEmpty {
                            r.update(repeating: 0, count: m * C)
                            continue
                        }
                        for (j, pair) in list.enumerated() {
                            for o in channels { copyRun(a + (o - lo) * k + j * N, doutT + (pair.p * O + o) * N, N) }
                            for c in 0..<C { copyRun(b + c * k + j * N, xT + (pair.q * C + c) * N, N) }
                        }
                        GEMM.run(transB: true, m: m, n: C, k: k, a: a, lda: k, b: b, ldb: k, c: r, ldc: C)
                    }
                    for o in channels {
                        let kernels = dw + o * C * taps, row = results + (o - lo) * C
                        for c in 0..<C {
                            for t in 0..<taps { kernels[c * taps + t] = row[t * m * C + c] }
                        }
                    }
                }
            }
        }
    }
}

/// The dense path of `convolution`: same inputs, outputs and recorded backward as the im2col
/// path (the input is saved through `SavedTensor`; the tap matrices are copied again from the
/// weight).
func denseConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry,
                      blockBudget: Int = DensePlan.defaultBlockBudget) -> Tensor {
    let (n, o) = (x.shape[0], weight.shape[0])
    let plan = DensePlan(geometry: geometry, batch: n, outChannels: o, blockBudget: blockBudget)
    let out = Tensor(shape: [n, o, geometry.outH, geometry.outW], dtype: x.dtype, zeroed: false)
    func forward<T: TensorScalar>(_: T.Type) {
        plan.forward(x.pointer(T.self), weight.pointer(T.self), bias.map { UnsafePointer($0.pointer(T.self)) }, out.pointer(T.self))
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    return recordConvolution(out, x, weight: weight, bias: bias) { x, g, dx, dw in
        func backward<T: TensorScalar>(_: T.Type) {
            plan.backward(g.pointer(T.self), x.pointer(T.self), weight.pointer(T.self), dx: dx?.pointer(T.self), dw: dw?.pointer(T.self))
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
    }
}
