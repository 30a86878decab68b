/// Convolution of maps smaller than the kernel's reach as one dense matrix per layer.
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
/// im2col multiplies every output by all KH·KW taps of every channel, including the ones that
/// read padding; D has H·W entries per (output, channel) pair, so it does N·O·P·C·H·W
/// multiplications instead of N·O·P·C·KH·KW (on ResNet-18's last 2x2 maps, 4 instead of 9, and
/// no column matrix). The price is building D, O·P·C·Q values, once per call whatever the batch:
/// see `preferred`.
///
/// D is never held whole: each thread builds and multiplies cache-sized blocks of it (rows of
/// output channels in the forward pass and the weight gradient, columns of input channels for
/// the input gradient), and the backward pass builds it again instead of keeping it. Threads
/// own disjoint output channels (or input channels) in fixed chunks and each sum runs in a fixed
/// order, so results are bit-identical run to run for a given thread count.
struct DensePlan {
    let geometry: ConvGeometry
    let batch: Int, outChannels: Int
    /// tapOf[p * Q + q]: the tap t = kh·KW + kw through which output position p reads input
    /// position q (ih·W + iw), or -1 where none does.
    let tapOf: [Int32]
    /// Entries of D (or dD) per block.
    let blockBudget: Int

    /// About 1 MiB of float32, one core's L2 here, like `ConvPlan.defaultBandBudget`.
    static let defaultBlockBudget = 256 * 1024

    /// Whether the automatic choice takes this path: fewer multiplications than im2col
    /// (H·W < KH·KW), at least 16 input and output channels, and a batch large enough to pay
    /// for building D: per entry of D built, the forward pass saves N·(KH·KW - H·W)/(H·W)
    /// multiplications, and that must reach `minimumSaving`.
    static func preferred(_ g: ConvGeometry, batch: Int, outChannels: Int) -> Bool {
        let inputs = g.height * g.width, taps = g.kernelH * g.kernelW
        return inputs < taps && g.channels >= 16 && outChannels >= 16 && batch * (taps - inputs) >= minimumSaving * inputs
    }

    /// Measured on a 512 -> 512 layer at 2x2 (forward + backward, release build, 2 threads, a
    /// loaded machine): batch 64 (a saving of 80) took 0.71x im2col's time, batch 32 (40) 0.94x,
    /// batch 16 (20) 1.35x, batch 1 1.7x; on 1x1 maps (256 channels) the dense path won at every batch (0.26x
    /// at 64, 0.4x at 4), since there im2col's GEMMs have one column per image.
    static let minimumSaving = 48

    init(geometry g: ConvGeometry, batch: Int, outChannels: Int, blockBudget: Int = DensePlan.defaultBlockBudget) {
        geometry = g
        self.batch = batch
        self.outChannels = outChannels
        self.blockBudget = blockBudget
        let Q = g.height * g.width
        var tapOf = [Int32](repeating: -1, count: g.positions * Q)
        for oh in 0..<g.outH {
            for ow in 0..<g.outW {
                for kh in 0..<g.kernelH {
                    for kw in 0..<g.kernelW {
                        let ih = oh * g.strideH - g.padH + kh, iw = ow * g.strideW - g.padW + kw
                        guard ih >= 0 && ih < g.height && iw >= 0 && iw < g.width else { continue }
                        tapOf[(oh * g.outW + ow) * Q + ih * g.width + iw] = Int32(kh * g.kernelW + kw)
                    }
                }
            }
        }
        self.tapOf = tapOf
    }

    var taps: Int { geometry.kernelH * geometry.kernelW }
    var positions: Int { geometry.positions }
    /// Input positions per channel, Q.
    var inputs: Int { geometry.height * geometry.width }

    /// Runs body(block, scratch) over `count` channels split over the threads in fixed chunks,
    /// each chunk in blocks of at most `size` channels, with `perChannel` scratch values per
    /// channel of a block.
    func forEachBlock<T: TensorScalar>(_: T.Type, _ count: Int, size: Int, perChannel: Int,
                                       _ body: (_ block: Range<Int>, _ scratch: UnsafeMutablePointer<T>) -> Void) {
        let size = Swift.max(1, size)
        Parallel.forEachChunk(count) { _, channels in
            withScratch(T.self, count: Swift.min(size, channels.count) * perChannel) { scratch in
                for start in stride(from: channels.lowerBound, to: channels.upperBound, by: size) {
                    body(start..<Swift.min(channels.upperBound, start + size), scratch)
                }
            }
        }
    }

    /// Writes the block of D with rows (o, p) for o in `rows` and columns (c, q) for c in
    /// `columns` into `d` (row stride columns.count·Q), from w [O, C, KH, KW]: per row and input
    /// position q, one strided copy over the channels (a tap per (p, q), so no per-value branch).
    @inline(__always)
    func build<T: TensorScalar>(_ w: UnsafePointer<T>, rows: Range<Int>, columns: Range<Int>, into d: UnsafeMutablePointer<T>) {
        let (C, P, Q, taps) = (geometry.channels, positions, inputs, taps)
        let ld = columns.count &* Q, count = columns.count
        tapOf.withUnsafeBufferPointer { table in
            let tapOf = table.baseAddress!
            for o in rows {
                let kernels = w + (o &* C &+ columns.lowerBound) &* taps
                for p in 0..<P {
                    let row = d + ((o &- rows.lowerBound) &* P &+ p) &* ld
                    for q in 0..<Q {
                        let t = Int(truncatingIfNeeded: tapOf[p &* Q &+ q])
                        var dst = row + q
                        if t < 0 {
                            for _ in 0..<count { dst.pointee = 0; dst += Q }
                        } else {
                            var src = kernels + t
                            for _ in 0..<count { dst.pointee = src.pointee; dst += Q; src += taps }
                        }
                    }
                }
            }
        }
    }

    /// dw[o, c, t] = Σ_p dD[(o, p), (c, q)] over the (p, q) that tap t connects, for o in `rows`,
    /// from the block `dD` (rows (o, p) for those o, all C·Q columns), p ascending.
    @inline(__always)
    func reduce<T: TensorScalar>(_ dD: UnsafePointer<T>, rows: Range<Int>, into dw: UnsafeMutablePointer<T>) {
        let (C, P, Q, taps) = (geometry.channels, positions, inputs, taps)
        let ld = C &* Q
        tapOf.withUnsafeBufferPointer { table in
            let tapOf = table.baseAddress!
            for o in rows {
                let kernels = dw + o &* C &* taps
                zeroRun(kernels, C &* taps)
                for p in 0..<P {
                    let row = dD + ((o &- rows.lowerBound) &* P &+ p) &* ld
                    for q in 0..<Q {
                        let t = Int(truncatingIfNeeded: tapOf[p &* Q &+ q])
                        guard t >= 0 else { continue }
                        var src = row + q, dst = kernels + t
                        for _ in 0..<C { dst.pointee += src.pointee; dst += taps; src += Q }
                    }
                }
            }
        }
    }

    /// out [N, O·P] = x [N, C·Q] × Dᵀ (+ bias), threads by output channels.
    func forward<T: TensorScalar>(_ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?, _ out: UnsafeMutablePointer<T>) {
        let (N, O, C, P, Q) = (batch, outChannels, geometry.channels, positions, inputs)
        let width = C * Q
        forEachBlock(T.self, O, size: blockBudget / (P * width), perChannel: P * width) { block, d in
            build(w, rows: block, columns: 0..<C, into: d)
            let target = out + block.lowerBound * P
            if let bias {
                for n in 0..<N { for o in block { (target + n * O * P + (o - block.lowerBound) * P).update(repeating: bias[o], count: P) } }
            }
            GEMM.run(transB: true, m: N, n: block.count * P, k: width, a: x, lda: width, b: d, ldb: width,
                     beta: bias == nil ? 0 : 1, c: target, ldc: O * P)
        }
    }

    /// dx [N, C·Q] = dout [N, O·P] × D, threads by input channels (D built by columns).
    func inputGradient<T: TensorScalar>(_ dout: UnsafePointer<T>, _ w: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>) {
        let (N, O, C, P, Q) = (batch, outChannels, geometry.channels, positions, inputs)
        let height = O * P
        forEachBlock(T.self, C, size: blockBudget / (height * Q), perChannel: height * Q) { block, d in
            build(w, rows: 0..<O, columns: block, into: d)
            GEMM.run(m: N, n: block.count * Q, k: height, a: dout, lda: height, b: d, ldb: block.count * Q,
                     c: dx + block.lowerBound * Q, ldc: C * Q)
        }
    }

    /// dw from dD = doutᵀ × x, block by block of output channels, threads by output channels.
    func weightGradient<T: TensorScalar>(_ dout: UnsafePointer<T>, _ x: UnsafePointer<T>, into dw: UnsafeMutablePointer<T>) {
        let (N, O, C, P, Q) = (batch, outChannels, geometry.channels, positions, inputs)
        let width = C * Q
        forEachBlock(T.self, O, size: blockBudget / (P * width), perChannel: P * width) { block, dD in
            GEMM.run(transA: true, m: block.count * P, n: width, k: N, a: dout + block.lowerBound * P, lda: O * P,
                     b: x, ldb: width, c: dD, ldc: width)
            reduce(dD, rows: block, into: dw)
        }
    }
}

/// The dense path of `convolution`: same inputs, outputs and recorded backward as the im2col
/// path (the input is saved through `SavedTensor`, D is rebuilt from the weight).
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
            if let dx { plan.inputGradient(g.pointer(T.self), weight.pointer(T.self), into: dx.pointer(T.self)) }
            if let dw { plan.weightGradient(g.pointer(T.self), x.pointer(T.self), into: dw.pointer(T.self)) }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
    }
}
