/// The geometry of a 2D convolution over one image: input channels x height x width, kernel,
/// stride and zero padding, and the output size they give.
struct ConvGeometry: Equatable {
    let channels: Int, height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let strideH: Int, strideW: Int
    let padH: Int, padW: Int
    let outH: Int, outW: Int

    init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
         outputSize: (Int, Int)? = nil) {
        self.channels = channels; self.height = height; self.width = width
        kernelH = kernel.0; kernelW = kernel.1
        strideH = stride.0; strideW = stride.1
        padH = padding.0; padW = padding.1
        if let outputSize {
            outH = outputSize.0; outW = outputSize.1
        } else {
            outH = (height + 2 * padH - kernelH) / strideH + 1
            outW = (width + 2 * padW - kernelW) / strideW + 1
        }
    }

    /// Rows of the column matrix: channels x kernel taps.
    var patch: Int { channels * kernelH * kernelW }
    /// Columns of the column matrix: output positions.
    var positions: Int { outH * outW }
    var imageSize: Int { channels * height * width }
    /// A 1x1 kernel with stride 1 and no padding: the image itself is the column matrix.
    ///
    /// The loops below index with the wrapping operators (`&+`, `&*`): every index lies inside
    /// an image or column matrix that is already allocated, so none can overflow.
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// Unfolds one image `x` [C, H, W] into `col` [C*KH*KW, OH*OW] (row stride `ldcol`):
    /// col[(c, kh, kw), (oh, ow)] = x[c, oh*SH - PH + kh, ow*SW - PW + kw], zero outside.
    /// With `rows`, only the output rows in that band, as columns (oh - rows.lowerBound)*OW + ow.
    @inline(__always)
    func im2col<T: TensorScalar>(_ x: UnsafePointer<T>, _ col: UnsafeMutablePointer<T>, ldcol: Int, rows: Range<Int>? = nil) {
        let rows = rows ?? 0..<outH
        for c in 0..<channels {
            let plane = x + c &* height &* width
            for kh in 0..<kernelH {
                for kw in 0..<kernelW {
                    let dst = col + ((c &* kernelH &+ kh) &* kernelW &+ kw) &* ldcol
                    // Output columns whose input column lies inside the image.
                    let owLo = strideW == 1 ? Swift.max(0, padW &- kw) : 0
                    let owHi = strideW == 1 ? Swift.min(outW, width &+ padW &- kw) : outW
                    for oh in rows {
                        let ih = oh &* strideH &- padH &+ kh
                        let row = dst + (oh &- rows.lowerBound) &* outW
                        if ih < 0 || ih >= height {
                            row.update(repeating: 0, count: outW)
                            continue
                        }
                        let src = plane + ih &* width
                        if strideW == 1 {
                            if owLo > 0 { row.update(repeating: 0, count: Swift.min(owLo, outW)) }
                            if owHi > owLo { (row + owLo).update(from: src + (owLo &- padW &+ kw), count: owHi &- owLo) }
                            if owHi < outW { (row + Swift.max(owHi, 0)).update(repeating: 0, count: outW &- Swift.max(owHi, 0)) }
                        } else {
                            var iw = kw &- padW
                            for ow in 0..<outW {
                                row[ow] = iw >= 0 && iw < width ? src[iw] : 0
                                iw &+= strideW
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back to the pixel it came from,
    /// `x` [C, H, W] += fold(col); with `rows`, `col` holds only that band of output rows.
    @inline(__always)
    func col2im<T: TensorScalar>(_ col: UnsafePointer<T>, ldcol: Int, _ x: UnsafeMutablePointer<T>, rows: Range<Int>? = nil) {
        let rows = rows ?? 0..<outH
        if kernelW == 3 && strideW == 1 {
            col2imThreeWide(col, ldcol: ldcol, x, rows: rows)
            return
        }
        for c in 0..<channels {
            let plane = x + c &* height &* width
            for kh in 0..<kernelH {
                for kw in 0..<kernelW {
                    let src = col + ((c &* kernelH &+ kh) &* kernelW &+ kw) &* ldcol
                    let owLo = strideW == 1 ? Swift.max(0, padW &- kw) : 0
                    let owHi = strideW == 1 ? Swift.min(outW, width &+ padW &- kw) : outW
                    for oh in rows {
                        let ih = oh &* strideH &- padH &+ kh
                        if ih < 0 || ih >= height { continue }
                        let dst = plane + ih &* width
                        let row = src + (oh &- rows.lowerBound) &* outW
                        if strideW == 1 {
                            if owHi > owLo {
                                let shifted = dst + (kw &- padW)
                                for ow in owLo..<owHi { shifted[ow] += row[ow] }
                            }
                        } else {
                            var iw = kw &- padW
                            for ow in 0..<outW {
                                if iw >= 0 && iw < width { dst[iw] += row[ow] }
                                iw &+= strideW
                            }
                        }
                    }
                }
            }
        }
    }

    /// `col2im` for kernels three wide at stride 1: the three horizontal taps of an input row are
    /// summed in one pass, x[iw] += r0[iw + p] + r1[iw + p - 1] + r2[iw + p - 2] (each term only
    /// where its column exists), instead of three read-modify-write passes over the row. On the
    /// short rows of deep layers (8 or 4 pixels) that pass is the cost of the whole fold.
    @inline(__always)
    private func col2imThreeWide<T: TensorScalar>(_ col: UnsafePointer<T>, ldcol: Int, _ x: UnsafeMutablePointer<T>, rows: Range<Int>) {
        // Input columns where all three taps exist: 0 <= iw + padW - kw < outW for kw in 0...2.
        let lo = Swift.max(0, 2 &- padW), hi = Swift.min(width, outW &- padW)
        for c in 0..<channels {
            let plane = x + c &* height &* width
            for kh in 0..<kernelH {
                let taps = col + ((c &* kernelH &+ kh) &* 3) &* ldcol
                for oh in rows {
                    let ih = oh &* strideH &- padH &+ kh
                    if ih < 0 || ih >= height { continue }
                    let dst = plane + ih &* width
                    let base = (oh &- rows.lowerBound) &* outW
                    let r0 = taps + (base &+ padW), r1 = taps + (ldcol &+ base &+ padW &- 1), r2 = taps + (2 &* ldcol &+ base &+ padW &- 2)
                    func edge(_ iw: Int) {
                        var v = dst[iw]
                        for kw in 0..<3 {
                            let ow = iw &+ padW &- kw
                            if ow >= 0 && ow < outW { v += taps[kw &* ldcol &+ base &+ ow] }
                        }
                        dst[iw] = v
                    }
                    if lo < hi {
                        for iw in 0..<lo { edge(iw) }
                        for iw in lo..<hi { dst[iw] += r0[iw] + r1[iw] + r2[iw] }
                        for iw in hi..<width { edge(iw) }
                    } else {
                        for iw in 0..<width { edge(iw) }
                    }
                }
            }
        }
    }
}

/// Where each column-matrix entry of one image comes from, for images whose rows are short or
/// strided: offsets[tap * P + p] is the position, in the image plane padded with zeros (the
/// padding on all sides), that output position p reads for kernel tap (kh, kw).
///
/// `im2col` and `col2im` above walk rows; on small maps (rows of 2 to 28 values) and at stride 2
/// their per-row bounds logic and copies cost more than the data (they were a quarter of
/// small-CNN-28 training). With this table, unfolding a channel is one copy into the padded
/// plane and one branch-free gather; folding is one scatter-add into a zeroed padded plane and
/// one copy out. Used for every image whose whole column matrix is built at once (not banded),
/// when its rows are strided or shorter than 32 values.
final class GatherTable {
    let geometry: ConvGeometry
    let paddedHeight: Int, paddedWidth: Int
    let offsets: [Int32]

    static func preferred(_ g: ConvGeometry) -> Bool {
        !g.isPointwise && (g.strideW != 1 || g.outW < 32)
    }

    init(_ g: ConvGeometry) {
        geometry = g
        paddedHeight = Swift.max(g.height + 2 * g.padH, (g.outH - 1) * g.strideH + g.kernelH)
        paddedWidth = Swift.max(g.width + 2 * g.padW, (g.outW - 1) * g.strideW + g.kernelW)
        var offsets = [Int32](repeating: 0, count: g.kernelH * g.kernelW * g.positions)
        var k = 0
        for kh in 0..<g.kernelH {
            for kw in 0..<g.kernelW {
                for oh in 0..<g.outH {
                    for ow in 0..<g.outW {
                        offsets[k] = Int32((oh * g.strideH + kh) * paddedWidth + ow * g.strideW + kw)
                        k += 1
                    }
                }
            }
        }
        self.offsets = offsets
    }

    var paddedSize: Int { paddedHeight * paddedWidth }

    /// Copies plane `src` [H, W] into the interior of `padded` (whose border is zero).
    @inline(__always)
    private func pad<T: TensorScalar>(_ src: UnsafePointer<T>, into padded: UnsafeMutablePointer<T>) {
        let g = geometry
        for ih in 0..<g.height { copyRun(padded + ((ih &+ g.padH) &* paddedWidth &+ g.padW), src + ih &* g.width, g.width) }
    }

    /// `ConvGeometry.im2col` of one whole image; `padded` is scratch of `paddedSize` values.
    func im2col<T: TensorScalar>(_ x: UnsafePointer<T>, _ col: UnsafeMutablePointer<T>, ldcol: Int, padded: UnsafeMutablePointer<T>) {
        let g = geometry
        let taps = g.kernelH &* g.kernelW, P = g.positions, plane = g.height &* g.width
        padded.update(repeating: 0, count: paddedSize)
        offsets.withUnsafeBufferPointer { table in
            let offsets = table.baseAddress!
            for c in 0..<g.channels {
                pad(x + c &* plane, into: padded)
                if g.strideH == 1 && g.strideW == 1 {
                    // At stride 1 a tap's row of outputs reads one run of the padded plane
                    // (offsets (oh + kh) * paddedWidth + kw + ow): row copies instead of a load
                    // per value through the table, the same values.
                    for kh in 0..<g.kernelH {
                        for kw in 0..<g.kernelW {
                            let dst = col + (c &* taps &+ kh &* g.kernelW &+ kw) &* ldcol
                            for oh in 0..<g.outH {
                                copyRun(dst + oh &* g.outW, padded + ((oh &+ kh) &* paddedWidth &+ kw), g.outW)
                            }
                        }
                    }
                    continue
                }
                for tap in 0..<taps {
                    let dst = col + (c &* taps &+ tap) &* ldcol, from = offsets + tap &* P
                    for p in 0..<P { dst[p] = padded[Int(truncatingIfNeeded: from[p])] }
                }
            }
        }
    }

    /// `ConvGeometry.col2im` of one whole image, except that it writes x [C, H, W] instead of
    /// adding to it; per pixel the taps are summed in the same order (kh, kw, then positions).
    func col2imOverwriting<T: TensorScalar>(_ col: UnsafePointer<T>, ldcol: Int, _ x: UnsafeMutablePointer<T>, padded: UnsafeMutablePointer<T>) {
        let g = geometry
        let taps = g.kernelH &* g.kernelW, P = g.positions, plane = g.height &* g.width
        offsets.withUnsafeBufferPointer { table in
            let offsets = table.baseAddress!
            for c in 0..<g.channels {
                padded.update(repeating: 0, count: paddedSize)
                for tap in 0..<taps {
                    let src = col + (c &* taps &+ tap) &* ldcol, to = offsets + tap &* P
                    for p in 0..<P { padded[Int(truncatingIfNeeded: to[p])] += src[p] }
                }
                let dst = x + c &* plane
                for ih in 0..<g.height { copyRun(dst + ih &* g.width, padded + ((ih &+ g.padH) &* paddedWidth &+ g.padW), g.width) }
            }
        }
    }
}
