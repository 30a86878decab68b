/// Pooling and resampling of NCHW images, with gradients. Every (image, channel) plane is
/// independent, so planes are split across threads.

/// Max pooling; the gradient goes to the (first) maximum of each window. Padding counts as
/// minus infinity, as in PyTorch.
///
/// 3x3 windows that lie wholly inside the image skip the bounds logic (ResNet-18's 3x3
/// stride-2 stem pool: 5.7% of its inference went to that logic), and without recording (evaluation)
/// no argmax positions are kept at all; the values are the same either way.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "maxPool2d needs NCHW, not \(x.shape)")
    let s = stride ?? kernel
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / s.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / s.1 + 1
    precondition(h * w <= Int(Int32.max), "maxPool2d of \(x.shape): a plane too large for Int32 positions")
    let out = Tensor(shape: [n, c, oh, ow], dtype: x.dtype, zeroed: false)
    let keepsIndices = Autograd.enabled && x.requiresGrad
    // The argmax positions, every entry written by the forward pass below, in a buffer of the
    // tensors' pool: as an array, each step's (1.6 MB for the small CNN's first pool) was
    // mmap-ed and page-faulted in afresh, which took three quarters of that pool's forward.
    let argmax = keepsIndices ? Storage(byteCount: n * c * oh * ow * MemoryLayout<Int32>.stride, zeroed: false) : nil
    // Output columns whose window lies inside the image horizontally.
    let jLo = Swift.min(ow, (padding.1 + s.1 - 1) / s.1)
    let jHi = Swift.max(jLo, Swift.min(ow, w + padding.1 >= kernel.1 ? (w + padding.1 - kernel.1) / s.1 + 1 : 0))
    // Indices below use the wrapping operators: each lies inside a plane checked above, and a
    // plane's positions fit in Int32.
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self)
        let indices = argmax?.typed(Int32.self)
        Parallel.forEachChunk(n * c) { _, planes in
            for plane in planes {
                let src = xp + plane &* h &* w, dst = op + plane &* oh &* ow
                let arg = indices.map { $0 + plane &* oh &* ow }
                if kernel == (2, 2) && s == (2, 2) && padding == (0, 0) {
                    // The common case, without window bookkeeping.
                    for i in 0..<oh {
                        let top = 2 &* i &* w, r0 = src + top, r1 = r0 + w
                        let out = dst + i &* ow
                        for j in 0..<ow {
                            let left = 2 &* j
                            var best = r0[left], at = top &+ left
                            pick(&best, &at, r0[left &+ 1], top &+ left &+ 1)
                            pick(&best, &at, r1[left], top &+ w &+ left)
                            pick(&best, &at, r1[left &+ 1], top &+ w &+ left &+ 1)
                            out[j] = best
                            arg?[i &* ow &+ j] = Int32(truncatingIfNeeded: at)
                        }
                    }
                    continue
                }
                for i in 0..<oh {
                    let h0 = i &* s.0 &- padding.0
                    // Window rows inside the image.
                    let rowLo = Swift.max(0, -h0), rowHi = Swift.min(kernel.0, h &- h0)
                    @inline(__always) func window(_ j: Int) {
                        let w0 = j &* s.1 &- padding.1
                        let colLo = Swift.max(0, -w0), colHi = Swift.min(kernel.1, w &- w0)
                        guard rowLo < rowHi && colLo < colHi else {
                            dst[i &* ow &+ j] = -T.infinity
                            arg?[i &* ow &+ j] = -1
                            return
                        }
                        // The first tap inside the image starts the window (PyTorch's first
                        // maximum in window order wins ties).
                        var at = (h0 &+ rowLo) &* w &+ w0 &+ colLo
                        var best = src[at]
                        for dh in rowLo..<rowHi {
                            let line = (h0 &+ dh) &* w &+ w0
                            for dw in colLo..<colHi { pick(&best, &at, src[line &+ dw], line &+ dw) }
                        }
                        dst[i &* ow &+ j] = best
                        arg?[i &* ow &+ j] = Int32(truncatingIfNeeded: at)
                    }
                    guard kernel == (3, 3) && rowLo == 0 && rowHi == kernel.0 else {
                        for j in 0..<ow { window(j) }
                        continue
                    }
                    for j in 0..<jLo { window(j) }
                    // 3x3 windows wholly inside: the same taps in the same order, from (h0, w0).
                    let out = dst + i &* ow
                    let r0 = h0 &* w, r1 = r0 &+ w, r2 = r1 &+ w
                    for j in jLo..<jHi {
                        let w0 = j &* s.1 &- padding.1
                        var best = src[r0 &+ w0], at = r0 &+ w0
                        pick(&best, &at, src[r0 &+ w0 &+ 1], r0 &+ w0 &+ 1); pick(&best, &at, src[r0 &+ w0 &+ 2], r0 &+ w0 &+ 2)
                        pick(&best, &at, src[r1 &+ w0], r1 &+ w0); pick(&best, &at, src[r1 &+ w0 &+ 1], r1 &+ w0 &+ 1)
                        pick(&best, &at, src[r1 &+ w0 &+ 2], r1 &+ w0 &+ 2); pick(&best, &at, src[r2 &+ w0], r2 &+ w0)
                        pick(&best, &at, src[r2 &+ w0 &+ 1], r2 &+ w0 &+ 1); pick(&best, &at, src[r2 &+ w0 &+ 2], r2 &+ w0 &+ 2)
                        out[j] = best
                        arg?[i &* ow &+ j] = Int32(truncatingIfNeeded: at)
                    }
                    for j in jHi..<ow { window(j) }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    let (inputShape, dtype) = (x.shape, x.dtype)
    return record(out, "maxPool2d", [x]) { g in
        // Each plane is cleared by the thread that fills it, not all of them up front.
        let dx = Tensor(shape: inputShape, dtype: dtype, zeroed: false)
        func backward<T: TensorScalar>(_: T.Type) {
            let gp = g.pointer(T.self), dp = dx.pointer(T.self)
            guard let indices = argmax?.typed(Int32.self) else { preconditionFailure("maxPool2d recorded without its argmax") }
            Parallel.forEachChunk(n * c) { _, planes in
                for plane in planes {
                    let dst = dp + plane &* h &* w, arg = indices + plane &* oh &* ow, src = gp + plane &* oh &* ow
                    dst.update(repeating: 0, count: h &* w)
                    for k in 0..<(oh &* ow) where arg[k] >= 0 {
                        dst[Int(truncatingIfNeeded: arg[k])] += src[k]
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        return [dx]
    }
}

/// Keeps the larger of (best, at) and (value, index); ties keep the earlier. Written as selects
/// rather than a branch: which tap of a window wins is data-dependent, and the mispredicted
/// branches cost more than the comparisons.
@inline(__always)
private func pick<T: TensorScalar>(_ best: inout T, _ at: inout Int, _ value: T, _ index: Int) {
    let better = value > best
    best = better ? value : best
    at = better ? index : at
}

/// Average pooling (zero padding counted in the average, PyTorch's default).
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
    precondition(x.rank == 4, "avgPool2d needs NCHW, not \(x.shape)")
    let s = stride ?? kernel
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / s.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / s.1 + 1
    let windows = (0..<oh).map { i in (i * s.0 - padding.0, i * s.0 - padding.0 + kernel.0) }
    let columns = (0..<ow).map { j in (j * s.1 - padding.1, j * s.1 - padding.1 + kernel.1) }
    return pooledAverage(x, outH: oh, outW: ow, rows: windows, columns: columns, divisor: { _, _ in Double(kernel.0 * kernel.1) }, name: "avgPool2d")
}

/// Adaptive average pooling to `output` size, with PyTorch's bins:
/// rows floor(i*H/OH) ..< ceil((i+1)*H/OH).
public func adaptiveAvgPool2d(_ x: Tensor, output: (Int, Int)) -> Tensor {
    precondition(x.rank == 4, "adaptiveAvgPool2d needs NCHW, not \(x.shape)")
    let (h, w) = (x.shape[2], x.shape[3])
    let rows = (0..<output.0).map { i in (i * h / output.0, ((i + 1) * h + output.0 - 1) / output.0) }
    let columns = (0..<output.1).map { j in (j * w / output.1, ((j + 1) * w + output.1 - 1) / output.1) }
    return pooledAverage(x, outH: output.0, outW: output.1, rows: rows, columns: columns,
                         divisor: { i, j in Double((rows[i].1 - rows[i].0) * (columns[j].1 - columns[j].0)) }, name: "adaptiveAvgPool2d")
}

/// Averages over the windows rows[i] x columns[j] (half-open, clipped to the image), divided by
/// `divisor(i, j)`.
func pooledAverage(_ x: Tensor, outH: Int, outW: Int, rows: [(Int, Int)], columns: [(Int, Int)],
                   divisor: (Int, Int) -> Double, name: String) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let scales = (0..<(outH * outW)).map { 1 / divisor($0 / outW, $0 % outW) }
    let out = Tensor(shape: [n, c, outH, outW], dtype: x.dtype, zeroed: false)
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self)
        Parallel.forEachChunk(n * c) { _, planes in
            for plane in planes {
                let src = xp + plane * h * w, dst = op + plane * outH * outW
                for i in 0..<outH {
                    for j in 0..<outW {
                        var acc: T = 0
                        for ih in Swift.max(rows[i].0, 0)..<Swift.min(rows[i].1, h) {
                            for iw in Swift.max(columns[j].0, 0)..<Swift.min(columns[j].1, w) { acc += src[ih * w + iw] }
                        }
                        dst[i * outW + j] = acc * T(scales[i * outW + j])
                    }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    let (inputShape, dtype) = (x.shape, x.dtype)
    return record(out, name, [x]) { g in
        let dx = Tensor(shape: inputShape, dtype: dtype)
        func backward<T: TensorScalar>(_: T.Type) {
            let gp = g.pointer(T.self), dp = dx.pointer(T.self)
            Parallel.forEachChunk(n * c) { _, planes in
                for plane in planes {
                    let dst = dp + plane * h * w, src = gp + plane * outH * outW
                    for i in 0..<outH {
                        for j in 0..<outW {
                            let v = src[i * outW + j] * T(scales[i * outW + j])
                            for ih in Swift.max(rows[i].0, 0)..<Swift.min(rows[i].1, h) {
                                for iw in Swift.max(columns[j].0, 0)..<Swift.min(columns[j].1, w) { dst[ih * w + iw] += v }
                            }
                        }
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        return [dx]
    }
}

public enum UpsampleMode: String, Sendable { case nearest, bilinear }

/// Resizes NCHW images to `size` (H, W): nearest (PyTorch's "nearest": source = floor(dst *
/// in / out)) or bilinear with align_corners = false (source = (dst + 0.5) * in / out - 0.5,
/// clamped at 0).
public func upsample(_ x: Tensor, size: (Int, Int), mode: UpsampleMode) -> Tensor {
    precondition(x.rank == 4, "upsample needs NCHW, not \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = size
    // Per output row/column: two source indices and the weight of the second.
    func taps(_ inSize: Int, _ outSize: Int) -> [(Int, Int, Double)] {
        let scale = Double(inSize) / Double(outSize)
        return (0..<outSize).map { o in
            switch mode {
            case .nearest:
                let i = Swift.min(Int((Double(o) * scale).rounded(.down)), inSize - 1)
                return (i, i, 0)
            case .bilinear:
                let src = Swift.max((Double(o) + 0.5) * scale - 0.5, 0)
                let i0 = Swift.min(Int(src.rounded(.down)), inSize - 1)
                let i1 = Swift.min(i0 + 1, inSize - 1)
                return (i0, i1, src - Double(i0))
            }
        }
    }
    let rows = taps(h, oh), columns = taps(w, ow)
    let out = Tensor(shape: [n, c, oh, ow], dtype: x.dtype, zeroed: false)
    func forward<T: TensorScalar>(_: T.Type) {
        let xp = x.pointer(T.self), op = out.pointer(T.self)
        Parallel.forEachChunk(n * c) { _, planes in
            for plane in planes {
                let src = xp + plane * h * w, dst = op + plane * oh * ow
                for i in 0..<oh {
                    let (r0, r1, ry) = rows[i]
                    let wy = T(ry)
                    for j in 0..<ow {
                        let (c0, c1, rx) = columns[j]
                        let wx = T(rx)
                        let top = src[r0 * w + c0] * (1 - wx) + src[r0 * w + c1] * wx
                        let bottom = src[r1 * w + c0] * (1 - wx) + src[r1 * w + c1] * wx
                        dst[i * ow + j] = top * (1 - wy) + bottom * wy
                    }
                }
            }
        }
    }
    x.dtype == .float32 ? forward(Float.self) : forward(Double.self)
    let (inputShape, dtype) = (x.shape, x.dtype)
    return record(out, "upsample", [x]) { g in
        let dx = Tensor(shape: inputShape, dtype: dtype)
        func backward<T: TensorScalar>(_: T.Type) {
            let gp = g.pointer(T.self), dp = dx.pointer(T.self)
            Parallel.forEachChunk(n * c) { _, planes in
                for plane in planes {
                    let dst = dp + plane * h * w, src = gp + plane * oh * ow
                    for i in 0..<oh {
                        let (r0, r1, ry) = rows[i]
                        let wy = T(ry)
                        for j in 0..<ow {
                            let (c0, c1, rx) = columns[j]
                            let wx = T(rx)
                            let v = src[i * ow + j]
                            dst[r0 * w + c0] += v * (1 - wy) * (1 - wx)
                            dst[r0 * w + c1] += v * (1 - wy) * wx
                            dst[r1 * w + c0] += v * wy * (1 - wx)
                            dst[r1 * w + c1] += v * wy * wx
                        }
                    }
                }
            }
        }
        g.dtype == .float32 ? backward(Float.self) : backward(Double.self)
        return [dx]
    }
}
