/// Transposed 2D convolution (the gradient of a convolution with respect to its input, used
/// to upsample): x [N, Cin, H, W], weight [Cin, Cout, KH, KW] (PyTorch's layout), output
/// [N, Cout, OH, OW] with OH = (H - 1) * stride - 2 * padding + KH + outputPadding.
///
/// Per image: col [Cout*KH*KW, H*W] = W^T x[n], then folded (col2im) onto the output, with the
/// geometry of the convolution that maps the output back to the input.
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[0],
                 "convTranspose2d of \(x.shape) with weight \(weight.shape)")
    let (n, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
    let oh = (h - 1) * stride.0 - 2 * padding.0 + kh + outputPadding.0
    let ow = (w - 1) * stride.1 - 2 * padding.1 + kw + outputPadding.1
    precondition(oh > 0 && ow > 0, "convTranspose2d output would be empty")
    // The convolution from the output [Cout, OH, OW] back to the input positions [H, W].
    let geometry = ConvGeometry(channels: cout, height: oh, width: ow, kernel: (kh, kw), stride: stride, padding: padding,
                                outputSize: (h, w))
    let plan = ConvPlan(geometry: geometry, batch: n, outChannels: cin)
    let out = Tensor(shape: [n, cout, oh, ow], dtype: x.dtype)
    func forward<T: TensorScalar>(_: T.Type) {
        let (K, P) = (geometry.patch, geometry.positions)
        let xp = x.pointer(T.self), wp = weight.pointer(T.self), op = out.pointer(T.self)
        plan.forEachGroup { _, first, count in
            let columns = count * P
            withScratch(T.self, count: count == 1 ? 0 : cin * columns) { gathered in
                let input: UnsafeMutablePointer<T>
                if count == 1 {
                    input = xp + first * cin * P
                } else {
                    input = gathered
                    ConvPlan.gather(xp + first * cin * P, rows: cin, positions: P, count: count, matrix: input, scatter: false)
                }
                withScratch(T.self, count: K * columns) { col in
                    GEMM.run(transA: true, m: K, n: columns, k: cin, a: wp, lda: K, b: input, ldb: columns, c: col, ldc: columns)
                    for i in 0..<count { geometry.col2im(col + i * P, ldcol: columns, op + (first + i) * geometry.imageSize) }
                }
            }
        }
        if let bias {
            let bp = bias.pointer(T.self)
            let plane = oh * ow
            Parallel.forEachChunk(n * cout) { _, range in
                for index in range {
                    let b = bp[index % cout], base = op + index * plane
                    for i in 0..<plane { base[i] += b }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return record(out, "convTranspose2d", inputs) { g in
        var dx: Tensor?, dw: Tensor?
        func backward<T: TensorScalar>(_: T.Type) {
            let (K, P) = (geometry.patch, geometry.positions)
            let xp = x.pointer(T.self), wp = weight.pointer(T.self), gp = g.pointer(T.self)
            let needInput = x.requiresGrad, needWeight = weight.requiresGrad
            dx = needInput ? Tensor(shape: x.shape, dtype: x.dtype, zeroed: false) : nil
            let partials = needWeight ? (0..<Parallel.chunkCount(n)).map { _ in Tensor(shape: weight.shape, dtype: weight.dtype) } : []
            plan.forEachGroup { chunk, first, count in
                let columns = count * P
                withScratch(T.self, count: K * columns) { col in
                    for i in 0..<count { geometry.im2col(gp + (first + i) * geometry.imageSize, col + i * P, ldcol: columns) }
                    withScratch(T.self, count: count == 1 ? 0 : cin * columns) { gathered in
                        if let dx {
                            let target = count == 1 ? dx.pointer(T.self) + first * cin * P : gathered
                            GEMM.run(m: cin, n: columns, k: K, a: wp, lda: K, b: col, ldb: columns, c: target, ldc: columns)
                            if count > 1 {
                                ConvPlan.gather(dx.pointer(T.self) + first * cin * P, rows: cin, positions: P, count: count, matrix: target, scatter: true)
                            }
                        }
                        if needWeight {
                            let input: UnsafeMutablePointer<T>
                            if count == 1 {
                                input = xp + first * cin * P
                            } else {
                                input = gathered
                                ConvPlan.gather(xp + first * cin * P, rows: cin, positions: P, count: count, matrix: input, scatter: false)
                            }
                            GEMM.run(transB: true, m: cin, n: K, k: columns, a: input, lda: columns, b: col, ldb: columns,
                                     beta: 1, c: partials[chunk].pointer(T.self), ldc: K)
                        }
                    }
                }
            }
            if needWeight {
                dw = partials[0]
                for partial in partials.dropFirst() { addInPlace(dw!, partial) }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        var grads: [Tensor?] = [dx, dw]
        if let bias { grads.append(bias.requiresGrad ? g.sum(axes: [0, 2, 3]) : nil) }
        return grads
    }
}
