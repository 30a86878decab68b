/// 2D convolution and transposed convolution as column matrices and GEMMs.
///
/// Convolution of x [N, C, H, W] with w [O, C, KH, KW] is, per image,
/// out[n] [O, OH*OW] = w [O, C*KH*KW] x im2col(x[n]) [C*KH*KW, OH*OW] (+ bias).
/// Images are split across threads (each GEMM single-threaded, see `GEMM`); when an image has
/// few output positions, several images share one GEMM so that it stays large enough to run
/// near OpenBLAS's peak. When one image's column matrix is large, it is built and multiplied a
/// band of output rows at a time, so that it stays in cache between im2col and the GEMM.
/// The backward pass recomputes the column matrix instead of keeping it.
struct ConvPlan {
    let geometry: ConvGeometry
    let batch: Int
    let outChannels: Int
    /// Images per GEMM.
    let group: Int
    /// Whether single images go band by band (a column matrix larger than a band, not pointwise).
    let banded: Bool
    /// The gather table for images unfolded whole with short or strided rows (see `GatherTable`).
    let gather: GatherTable?

    /// Column-matrix entries per band (see `bands`).
    let bandBudget: Int

    /// About 1 MiB of float32, the size of one core's L2 here (measured on the U-Net benchmark:
    /// 10% faster than whole-image column matrices; 0.5 to 4 MiB all within 1%).
    static let defaultBandBudget = 256 * 1024

    init(geometry: ConvGeometry, batch: Int, outChannels: Int, bandBudget: Int = ConvPlan.defaultBandBudget) {
        self.geometry = geometry
        self.bandBudget = bandBudget
        self.batch = batch
        self.outChannels = outChannels
        // Aim for at least ~2048 columns per GEMM, without starving a thread of images, and
        // with a column matrix within the band budget, so that it stays in cache between im2col
        // and the GEMM (ResNet-18's stride-2 3x3 layer from 16x16 maps of 64 channels: 32 images,
        // a 4.7 MB column matrix, backward 7.9 -> 7.0 ms with 7 images; forward about 3% faster).
        // An image of 512 positions or more is a wide enough GEMM alone: grouped, its output and
        // output gradient went through `gather` copies (ResNet-18's 7x7 stem at 64x64, 32x32
        // outputs: 1% of the training step in those copies), and pairs of 28x28 or 24x24 images
        // ran at half the speed of single ones (the small CNN's 3 -> 32 input layer at 28x28,
        // batch 64: forward 1.0 -> 0.5 ms, forward + backward 2.5 -> 1.25 ms; 8 -> 16 at 22x22,
        // 484 positions, 2.0 -> 1.5 ms; at 16x16, 3 -> 16 at stride 2, groups of 8 stay faster,
        // 0.5 against 0.8 ms). The GEMMs on 784 columns stay within OpenBLAS's small-matrix
        // kernels, which is the likely difference; not isolated.
        let perThread = Swift.max(1, (batch + Parallel.threads - 1) / Parallel.threads)
        let positions = Swift.max(geometry.positions, 1)
        group = positions >= 512 ? 1 : Swift.max(1, Swift.min(perThread, 2048 / positions, bandBudget / (geometry.patch * positions)))
        banded = group == 1 && !geometry.isPointwise && geometry.patch * geometry.positions > bandBudget
        gather = !banded && GatherTable.preferred(geometry) ? GatherTable(geometry) : nil
    }

    /// Whether `fold` overwrites its images (a gather table) rather than adding to them.
    var foldOverwrites: Bool { gather != nil }

    /// Unfolds images first..<first+count of x [N, C, H, W] into `col`, image i at column i*P
    /// (row stride `ldcol`); not for pointwise or banded plans.
    @inline(__always)
    func unfold<T: TensorScalar>(_ x: UnsafePointer<T>, first: Int, count: Int, into col: UnsafeMutablePointer<T>, ldcol: Int) {
        let (size, P) = (geometry.imageSize, positions)
        if let gather {
            withScratch(T.self, count: gather.paddedSize) { padded in
                for i in 0..<count { gather.im2col(x + (first + i) * size, col + i * P, ldcol: ldcol, padded: padded) }
            }
        } else {
            for i in 0..<count { geometry.im2col(x + (first + i) * size, col + i * P, ldcol: ldcol) }
        }
    }

    /// Folds `col` back onto images first..<first+count of x: adds to them, or overwrites them
    /// when `foldOverwrites` (the caller then need not zero them).
    @inline(__always)
    func fold<T: TensorScalar>(_ col: UnsafePointer<T>, ldcol: Int, into x: UnsafeMutablePointer<T>, first: Int, count: Int) {
        let (size, P) = (geometry.imageSize, positions)
        if let gather {
            withScratch(T.self, count: gather.paddedSize) { padded in
                for i in 0..<count { gather.col2imOverwriting(col + i * P, ldcol: ldcol, x + (first + i) * size, padded: padded) }
            }
        } else {
            for i in 0..<count { geometry.col2im(col + i * P, ldcol: ldcol, x + (first + i) * size) }
        }
    }

    var positions: Int { geometry.positions }
    var patch: Int { geometry.patch }

    /// Bands of output rows for one image whose column matrix is built piecewise.
    var bands: [Range<Int>] {
        let outH = geometry.outH
        let rowsPerBand = Swift.max(1, Swift.min(outH, bandBudget / Swift.max(1, patch * geometry.outW)))
        return stride(from: 0, to: outH, by: rowsPerBand).map { $0..<Swift.min(outH, $0 + rowsPerBand) }
    }

    /// Image ranges per thread, then groups within: (first image, images in the group).
    func forEachGroup(_ body: (_ chunk: Int, _ first: Int, _ count: Int) -> Void) {
        Parallel.forEachChunk(batch) { chunk, images in
            var n = images.lowerBound
            while n < images.upperBound {
                let g = Swift.min(group, images.upperBound - n)
                body(chunk, n, g)
                n += g
            }
        }
    }

    /// Weight-gradient accumulators, one per thread chunk of `forEachGroup`, uninitialised:
    /// `zeroPartial` clears a chunk's own on its thread (in parallel, instead of a serial
    /// clear of all of them on the calling thread at allocation).
    func weightPartials(_ weight: Tensor) -> [Tensor] {
        (0..<Parallel.chunkCount(batch)).map { _ in Tensor(shape: weight.shape, dtype: weight.dtype, zeroed: false) }
    }

    /// Clears `partials[chunk]` when `image` is the chunk's first image.
    @inline(__always)
    func zeroPartial(_ partials: [Tensor], chunk: Int, image: Int) {
        guard !partials.isEmpty, image == Parallel.chunkRange(chunk, of: batch, chunks: partials.count).lowerBound else { return }
        partials[chunk].rawBytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// The [rows, count*P] matrix of images first..<first+count of a [N, rows, P] tensor: the
    /// tensor's own memory for one image, else the images gathered into `scratch`.
    @inline(__always)
    static func matrix<T: TensorScalar>(_ base: UnsafeMutablePointer<T>, first: Int, count: Int, rows: Int, positions: Int,
                                        scratch: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<T> {
        let start = base + first * rows * positions
        if count == 1 { return start }
        gather(start, rows: rows, positions: positions, count: count, matrix: scratch, scatter: false)
        return scratch
    }

    /// Copies rows [rows, positions] of `count` consecutive images of a [N, rows, P] tensor
    /// into one [rows, count*P] matrix (or back, with `scatter`).
    @inline(__always)
    static func gather<T: TensorScalar>(_ base: UnsafeMutablePointer<T>, rows: Int, positions: Int, count: Int,
                                        matrix: UnsafeMutablePointer<T>, scatter: Bool) {
        for g in 0..<count {
            for r in 0..<rows {
                let image = base + (g * rows + r) * positions
                let block = matrix + r * count * positions + g * positions
                if scatter { copyRun(image, block, positions) } else { copyRun(block, image, positions) }
            }
        }
    }
}

/// Convolution: x [N, C, H, W], weight [O, C, KH, KW] (PyTorch's OIHW), bias [O] or nil.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) -> Tensor {
    convolution(x, weight: weight, bias: bias, stride: stride, padding: padding, bandBudget: ConvPlan.defaultBandBudget)
}

/// How a convolution is computed: `automatic` takes Winograd F(4x4, 3x3) or F(2x2, 3x3) for
/// 3x3 stride-1 padding-1 convolutions with at least 16 input and output channels
/// (`WinogradPlan.preferredTile`), one dense GEMM for maps smaller than the kernel
/// (`DensePlan.preferred`), im2col + GEMM otherwise; tests force a path.
enum ConvAlgorithm {
    case automatic, im2col, winograd, winograd4, dense

    /// The path `convolution` takes for this geometry, batch and output channel count.
    func resolved(_ geometry: ConvGeometry, batch: Int, outChannels: Int) -> ConvAlgorithm {
        guard self == .automatic else { return self }
        switch WinogradPlan.preferredTile(geometry, batch: batch, outChannels: outChannels) {
        case 4: return .winograd4
        case 2: return .winograd
        default: break
        }
        if DensePlan.preferred(geometry, batch: batch, outChannels: outChannels) { return .dense }
        return .im2col
    }
}

/// `conv2d` with an explicit band size (tests force several bands on small images) and algorithm.
func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), bandBudget: Int,
                 algorithm: ConvAlgorithm = .automatic) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1],
                 "conv2d of \(x.shape) with weight \(weight.shape)")
    precondition(x.dtype == weight.dtype && (bias?.dtype ?? x.dtype) == x.dtype, "conv2d dtype mismatch")
    let geometry = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                                kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding)
    precondition(geometry.outH > 0 && geometry.outW > 0, "conv2d output would be empty for input \(x.shape)")
    let path = algorithm.resolved(geometry, batch: x.shape[0], outChannels: weight.shape[0])
    switch path {
    case .winograd, .winograd4:
        precondition(WinogradPlan.supports(geometry), "Winograd convolution needs a 3x3 kernel, stride 1 and padding 1")
        return winogradConvolution(x, weight: weight, bias: bias, geometry: geometry, tile: path == .winograd4 ? 4 : 2)
    case .dense:
        return denseConvolution(x, weight: weight, bias: bias, geometry: geometry)
    case .automatic, .im2col:
        break
    }
    let plan = ConvPlan(geometry: geometry, batch: x.shape[0], outChannels: weight.shape[0], bandBudget: bandBudget)
    let out = Tensor(shape: [x.shape[0], plan.outChannels, geometry.outH, geometry.outW], dtype: x.dtype, zeroed: false)
    x.dtype == .float32 ? convForward(Float.self, plan, x, weight, bias, out) : convForward(Double.self, plan, x, weight, bias, out)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedInput = SavedTensor(x), needInput = x.requiresGrad
    return record(out, "conv2d", inputs, keeps: SavedTensor.keeps(x) + [weight]) { g in
        let x = savedInput.value()
        var dx: Tensor?, dw: Tensor?
        if g.dtype == .float32 {
            (dx, dw) = convBackward(Float.self, plan, x, weight, g, needInput: needInput, needWeight: weight.requiresGrad)
        } else {
            (dx, dw) = convBackward(Double.self, plan, x, weight, g, needInput: needInput, needWeight: weight.requiresGrad)
        }
        var grads: [Tensor?] = [dx, dw]
        if let bias { grads.append(bias.requiresGrad ? g.sum(axes: [0, 2, 3]) : nil) }
        return grads
    }
}

/// Records the backward of a convolution path that writes whole gradients (Winograd, dense):
/// keeps x through `SavedTensor` and the weight, as the im2col path does, and calls
/// gradients(x, dout, dx, dw) with dx and dw allocated (uninitialised) where they are needed;
/// the bias gradient is dout summed over the batch and positions.
func recordConvolution(_ out: Tensor, _ x: Tensor, weight: Tensor, bias: Tensor?,
                       _ gradients: @escaping (_ x: Tensor, _ g: Tensor, _ dx: Tensor?, _ dw: Tensor?) -> Void) -> Tensor {
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedInput = SavedTensor(x), needInput = x.requiresGrad
    return record(out, "conv2d", inputs, keeps: SavedTensor.keeps(x) + [weight]) { g in
        let x = savedInput.value()
        let dx = needInput ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
        let dw = weight.requiresGrad ? Tensor(shape: weight.shape, dtype: weight.dtype, zeroed: false) : nil
        gradients(x, g, dx, dw)
        var grads: [Tensor?] = [dx, dw]
        if let bias { grads.append(bias.requiresGrad ? g.sum(axes: [0, 2, 3]) : nil) }
        return grads
    }
}

func convForward<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ out: Tensor) {
    let geometry = plan.geometry
    let (O, K, P) = (plan.outChannels, plan.patch, plan.positions)
    let xp = x.pointer(T.self), wp = weight.pointer(T.self), op = out.pointer(T.self)
    let bp = bias?.pointer(T.self)
    if plan.banded {
        let outW = geometry.outW
        let bands = plan.bands
        plan.forEachGroup { _, first, _ in
            let target = op + first * O * P
            if let bp { for o in 0..<O { (target + o * P).update(repeating: bp[o], count: P) } }
            withScratch(T.self, count: K * bands[0].count * outW) { col in
                for band in bands {
                    let columns = band.count * outW
                    geometry.im2col(xp + first * geometry.imageSize, col, ldcol: columns, rows: band)
                    GEMM.run(m: O, n: columns, k: K, a: wp, lda: K, b: col, ldb: columns, beta: bp == nil ? 0 : 1,
                             c: target + band.lowerBound * outW, ldc: P)
                }
            }
        }
        return
    }
    plan.forEachGroup { _, first, count in
        let columns = count * P
        // The column matrix: for a pointwise kernel and one image, the image itself.
        let direct = geometry.isPointwise && count == 1
        withScratch(T.self, count: direct ? 0 : K * columns) { scratch in
            let col: UnsafeMutablePointer<T>
            if direct {
                col = xp + first * geometry.imageSize
            } else {
                col = scratch
                if geometry.isPointwise {
                    ConvPlan.gather(xp + first * geometry.imageSize, rows: K, positions: P, count: count, matrix: col, scatter: false)
                } else {
                    plan.unfold(xp, first: first, count: count, into: col, ldcol: columns)
                }
            }
            withScratch(T.self, count: count == 1 ? 0 : O * columns) { result in
                let target = count == 1 ? op + first * O * P : result
                if let bp {
                    for o in 0..<O { (target + o * columns).update(repeating: bp[o], count: columns) }
                }
                GEMM.run(m: O, n: columns, k: K, a: wp, lda: K, b: col, ldb: columns, beta: bp == nil ? 0 : 1, c: target, ldc: columns)
                if count > 1 { ConvPlan.gather(op + first * O * P, rows: O, positions: P, count: count, matrix: target, scatter: true) }
            }
        }
    }
}

func convBackward<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ g: Tensor,
                                   needInput: Bool, needWeight: Bool) -> (Tensor?, Tensor?) {
    let dx = needInput ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: !plan.geometry.isPointwise && !plan.foldOverwrites) : nil
    // One weight-gradient accumulator per thread, summed in a fixed order afterwards.
    let partials = needWeight ? plan.weightPartials(weight) : []
    if plan.banded {
        convBackwardBanded(T.self, plan, x, weight, g, dx: dx, partials: partials)
    } else {
        convBackwardGrouped(T.self, plan, x, weight, g, dx: dx, partials: partials)
    }
    var dw: Tensor?
    if needWeight {
        dw = partials[0]
        for partial in partials.dropFirst() { addInPlace(dw!, partial) }
    }
    return (dx, dw)
}

/// Backward for images whose column matrix is built a band of output rows at a time:
/// dW += dout[:, band] x col(band)^T and dx += col2im(W^T x dout[:, band]).
private func convBackwardBanded<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ g: Tensor,
                                                 dx: Tensor?, partials: [Tensor]) {
    let geometry = plan.geometry
    let (O, K, P, outW) = (plan.outChannels, plan.patch, plan.positions, geometry.outW)
    let xp = x.pointer(T.self), wp = weight.pointer(T.self), gp = g.pointer(T.self)
    let bands = plan.bands
    plan.forEachGroup { chunk, image, _ in
        plan.zeroPartial(partials, chunk: chunk, image: image)
        let dout = gp + image * O * P
        withScratch(T.self, count: K * bands[0].count * outW) { col in
            for band in bands {
                let columns = band.count * outW
                let doutBand = dout + band.lowerBound * outW
                if !partials.isEmpty {
                    geometry.im2col(xp + image * geometry.imageSize, col, ldcol: columns, rows: band)
                    GEMM.run(transB: true, m: O, n: K, k: columns, a: doutBand, lda: P, b: col, ldb: columns,
                             beta: 1, c: partials[chunk].pointer(T.self), ldc: K)
                }
                if let dx {
                    GEMM.run(transA: true, m: K, n: columns, k: O, a: wp, lda: K, b: doutBand, ldb: P, c: col, ldc: columns)
                    geometry.col2im(col, ldcol: columns, dx.pointer(T.self) + image * geometry.imageSize, rows: band)
                }
            }
        }
    }
}

/// Backward for groups of images sharing one column matrix (or one image's whole matrix).
private func convBackwardGrouped<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ g: Tensor,
                                                  dx: Tensor?, partials: [Tensor]) {
    let geometry = plan.geometry
    let (O, K, P) = (plan.outChannels, plan.patch, plan.positions)
    let xp = x.pointer(T.self), wp = weight.pointer(T.self), gp = g.pointer(T.self)
    plan.forEachGroup { chunk, first, count in
        plan.zeroPartial(partials, chunk: chunk, image: first)
        let columns = count * P
        withScratch(T.self, count: count == 1 ? 0 : O * columns) { gathered in
            let dout = ConvPlan.matrix(gp, first: first, count: count, rows: O, positions: P, scratch: gathered)
            withScratch(T.self, count: K * columns) { col in
                if !partials.isEmpty {
                    if geometry.isPointwise {
                        ConvPlan.gather(xp + first * geometry.imageSize, rows: K, positions: P, count: count, matrix: col, scatter: false)
                    } else {
                        plan.unfold(xp, first: first, count: count, into: col, ldcol: columns)
                    }
                    GEMM.run(transB: true, m: O, n: K, k: columns, a: dout, lda: columns, b: col, ldb: columns,
                             beta: 1, c: partials[chunk].pointer(T.self), ldc: K)
                }
                if let dx {
                    // d col = w^T x d out, then fold back onto the input.
                    GEMM.run(transA: true, m: K, n: columns, k: O, a: wp, lda: K, b: dout, ldb: columns, c: col, ldc: columns)
                    if geometry.isPointwise {
                        ConvPlan.gather(dx.pointer(T.self) + first * geometry.imageSize, rows: K, positions: P, count: count, matrix: col, scatter: true)
                    } else {
                        plan.fold(col, ldcol: columns, into: dx.pointer(T.self), first: first, count: count)
                    }
                }
            }
        }
    }
}
