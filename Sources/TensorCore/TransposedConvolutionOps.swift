/// Transposed 2D convolution (the gradient of a convolution with respect to its input, used
/// to upsample): x [N, Cin, H, W], weight [Cin, Cout, KH, KW] (PyTorch's layout), output
/// [N, Cout, OH, OW] with OH = (H - 1) * stride - 2 * padding + KH + outputPadding.
///
/// Per image: col [Cout*KH*KW, H*W] = W^T x[n], then folded (col2im) onto the output, with the
/// geometry of the convolution that maps the output back to the input. As for `conv2d`, small
/// images share one GEMM and a large image's column matrix is built a band of rows at a time.
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0)) -> Tensor {
    transposedConvolution(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                          bandBudget: ConvPlan.defaultBandBudget)
}

/// `convTranspose2d` with an explicit band size (tests force several bands on small images).
func transposedConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                           outputPadding: (Int, Int), bandBudget: Int) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[0],
                 "convTranspose2d of \(x.shape) with weight \(weight.shape)")
    precondition(x.dtype == weight.dtype && (bias?.dtype ?? x.dtype) == x.dtype, "convTranspose2d dtype mismatch")
    let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let oh = (h - 1) * stride.0 - 2 * padding.0 + kh + outputPadding.0
    let ow = (w - 1) * stride.1 - 2 * padding.1 + kw + outputPadding.1
    precondition(oh > 0 && ow > 0, "convTranspose2d output would be empty")
    // The convolution from the output [Cout, OH, OW] back to the input positions [H, W].
    let geometry = ConvGeometry(channels: cout, height: oh, width: ow, kernel: (kh, kw), stride: stride, padding: padding,
                                outputSize: (h, w))
    let plan = ConvPlan(geometry: geometry, batch: n, outChannels: x.shape[1], bandBudget: bandBudget)
    let out = Tensor(shape: [n, cout, oh, ow], dtype: x.dtype, zeroed: !plan.foldOverwrites)
    if x.dtype == .float32 {
        transposedForward(Float.self, plan, x, weight, bias, out)
    } else {
        transposedForward(Double.self, plan, x, weight, bias, out)
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedInput = SavedTensor(x), needInput = x.requiresGrad
    return record(out, "convTranspose2d", inputs, keeps: SavedTensor.keeps(x) + [weight]) { g in
        let x = savedInput.value()
        var dx: Tensor?, dw: Tensor?
        if g.dtype == .float32 {
            (dx, dw) = transposedBackward(Float.self, plan, x, weight, g, needInput: needInput, needWeight: weight.requiresGrad)
        } else {
            (dx, dw) = transposedBackward(Double.self, plan, x, weight, g, needInput: needInput, needWeight: weight.requiresGrad)
        }
        var grads: [Tensor?] = [dx, dw]
        if let bias { grads.append(bias.requiresGrad ? g.sum(axes: [0, 2, 3]) : nil) }
        return grads
    }
}

/// out = fold(W^T x) per image (out zeroed unless the fold overwrites), then the bias.
private func transposedForward<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ out: Tensor) {
    let geometry = plan.geometry
    let (cin, K, P, outW) = (plan.outChannels, plan.patch, plan.positions, geometry.outW)
    let xp = x.pointer(T.self), wp = weight.pointer(T.self), op = out.pointer(T.self)
    if plan.banded {
        let bands = plan.bands
        plan.forEachGroup { _, image, _ in
            withScratch(T.self, count: K * bands[0].count * outW) { col in
                for band in bands {
                    let columns = band.count * outW
                    GEMM.run(transA: true, m: K, n: columns, k: cin, a: wp, lda: K, b: xp + image * cin * P + band.lowerBound * outW,
                             ldb: P, c: col, ldc: columns)
                    geometry.col2im(col, ldcol: columns, op + image * geometry.imageSize, rows: band)
                }
            }
        }
    } else {
        plan.forEachGroup { _, first, count in
            let columns = count * P
            withScratch(T.self, count: count == 1 ? 0 : cin * columns) { gathered in
                let input = ConvPlan.matrix(xp, first: first, count: count, rows: cin, positions: P, scratch: gathered)
                withScratch(T.self, count: K * columns) { col in
                    GEMM.run(transA: true, m: K, n: columns, k: cin, a: wp, lda: K, b: input, ldb: columns, c: col, ldc: columns)
                    plan.fold(col, ldcol: columns, into: op, first: first, count: count)
                }
            }
        }
    }
    if let bias {
        let bp = bias.pointer(T.self)
        let cout = geometry.channels, plane = geometry.height * geometry.width
        Parallel.forEachChunk(plan.batch * cout) { _, range in
            for index in range {
                let b = bp[index % cout], base = op + index * plane
                for i in 0..<plane { base[i] += b }
            }
        }
    }
}

/// dx = W im2col(g) per image; dW = sum over images of x im2col(g)^T.
private func transposedBackward<T: TensorScalar>(_: T.Type, _ plan: ConvPlan, _ x: Tensor, _ weight: Tensor, _ g: Tensor,
                                                 needInput: Bool, needWeight: Bool) -> (Tensor?, Tensor?) {
    let geometry = plan.geometry
    let (cin, K, P, outW) = (plan.outChannels, plan.patch, plan.positions, geometry.outW)
    let xp = x.pointer(T.self), wp = weight.pointer(T.self), gp = g.pointer(T.self)
    let dx = needInput ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
    let partials = needWeight ? plan.weightPartials(weight) : []
    if plan.banded {
        let bands = plan.bands
        plan.forEachGroup { chunk, image, _ in
            plan.zeroPartial(partials, chunk: chunk, image: image)
            withScratch(T.self, count: K * bands[0].count * outW) { col in
                for band in bands {
                    let columns = band.count * outW, offset = image * cin * P + band.lowerBound * outW
                    geometry.im2col(gp + image * geometry.imageSize, col, ldcol: columns, rows: band)
                    if let dx {
                        GEMM.run(m: cin, n: columns, k: K, a: wp, lda: K, b: col, ldb: columns, c: dx.pointer(T.self) + offset, ldc: P)
                    }
                    if needWeight {
                        GEMM.run(transB: true, m: cin, n: K, k: columns, a: xp + offset, lda: P, b: col, ldb: columns,
                                 beta: 1, c: partials[chunk].pointer(T.self), ldc: K)
                    }
                }
            }
        }
    } else {
        plan.forEachGroup { chunk, first, count in
            plan.zeroPartial(partials, chunk: chunk, image: first)
            let columns = count * P
            withScratch(T.self, count: K * columns) { col in
                plan.unfold(gp, first: first, count: count, into: col, ldcol: columns)
                withScratch(T.self, count: count == 1 ? 0 : cin * columns) { gathered in
                    if let dx {
                        let target = count == 1 ? dx.pointer(T.self) + first * cin * P : gathered
                        GEMM.run(m: cin, n: columns, k: K, a: wp, lda: K, b: col, ldb: columns, c: target, ldc: columns)
                        if count > 1 {
                            ConvPlan.gather(dx.pointer(T.self) + first * cin * P, rows: cin, positions: P, count: count, matrix: target, scatter: true)
                        }
                    }
                    if needWeight {
                        let input = ConvPlan.matrix(xp, first: first, count: count, rows: cin, positions: P, scratch: gathered)
                        GEMM.run(transB: true, m: cin, n: K, k: columns, a: input, lda: columns, b: col, ldb: columns,
                                 beta: 1, c: partials[chunk].pointer(T.self), ldc: K)
                    }
                }
            }
        }
    }
    var dw: Tensor?
    if needWeight {
        dw = partials[0]
        for partial in partials.dropFirst() { addInPlace(dw!, partial) }
    }
    return (dx, dw)
}
