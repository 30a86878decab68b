/// The transforms of Winograd F(4x4, 3x3) (Lavin & Gray 2016, interpolation points 0, ±1, ±2
/// and ∞): 4x4 output tiles from the 6x6 input patches whose top-left pixel is
/// (4ty - 1, 4tx - 1), 36 transform positions k = 6i + j,
///     Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
///     G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1],
///     Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
/// That is 36 multiplications per 4x4 outputs and channel pair, against 64 for F(2x2) and 144
/// for im2col. The larger transform entries cost accuracy: measured against float64 in
/// `WinogradConvolutionTests`.
///
/// Each transform is two passes of the same 1-D transform, first across rows (lanes along the
/// image row), then across the columns of each tile (lanes over tiles: a row's values at
/// stride 4 come out of vector loads split into their four phases, `quarters`).
extension WinogradPlan {
    /// Bᵀ applied to (d0 ... d5).
    @inline(__always)
    static func inputRows<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V)
    where V.Scalar: FloatingPoint {
        let s12 = d1 + d2, m12 = d1 - d2, s34 = d3 + d4, m43 = d4 - d3, m42 = d4 - d2, m31 = d3 - d1
        return (d0 * 4 - d2 * 5 + d4, s34 - s12 * 4, m43 + m12 * 4, m42 + m31 * 2, m42 - m31 * 2, d1 * 4 - d3 * 5 + d5)
    }

    /// Aᵀ applied to (m0 ... m5).
    @inline(__always)
    static func outputRows<V: SIMD>(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V)
    where V.Scalar: FloatingPoint {
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + d34 * 2, s12 + s34 * 4, d12 + d34 * 8 + m5)
    }

    /// A applied to (g0 ... g3): the adjoint of `outputRows`.
    @inline(__always)
    static func gradientRows<V: SIMD>(_ g0: V, _ g1: V, _ g2: V, _ g3: V) -> (V, V, V, V, V, V) where V.Scalar: FloatingPoint {
        let s02 = g0 + g2, s13 = g1 + g3, f02 = g0 + g2 * 4, f13 = g1 + g3 * 4
        return (g0, s02 + s13, s02 - s13, f02 + f13 * 2, f02 - f13 * 2, g3)
    }

    /// G applied to (a, b, c).
    @inline(__always)
    static func kernelRows<V: SIMD>(_ a: V, _ b: V, _ c: V) -> (V, V, V, V, V, V) where V.Scalar: FloatingPoint {
        let ac = a + c, e = a / 24 + c / 6
        return (a / 4, (ac + b) / -6, (ac - b) / -6, e + b / 12, e - b / 12, c)
    }

    /// Gᵀ applied to (d0 ... d5).
    @inline(__always)
    static func kernelGradientRows<V: SIMD>(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V)
    where V.Scalar: FloatingPoint {
        let s12 = d1 + d2, s34 = d3 + d4
        return (d0 / 4 - s12 / 6 + s34 / 24, (d2 - d1) / 6 + (d3 - d4) / 12, (s34 - s12) / 6 + d5)
    }

    /// The four phases of a vector: lanes 4t, 4t + 1, 4t + 2, 4t + 3.
    @inline(__always)
    static func quarters<W: SIMDHalves>(_ w: W) -> (W.Half.Half, W.Half.Half, W.Half.Half, W.Half.Half) where W.Half: SIMDHalves {
        let e = w.evenHalf, o = w.oddHalf
        return (e.evenHalf, o.evenHalf, e.oddHalf, o.oddHalf)
    }

    /// The vector whose lanes 4t ... 4t + 3 are (p0, p1, p2, p3) lane t: the inverse of `quarters`.
    @inline(__always)
    static func interleave<W: SIMDHalves>(_ p0: W.Half.Half, _ p1: W.Half.Half, _ p2: W.Half.Half, _ p3: W.Half.Half) -> W
    where W.Half: SIMDHalves {
        var e = W.Half(), o = W.Half()
        e.evenHalf = p0; e.oddHalf = p2; o.evenHalf = p1; o.oddHalf = p3
        var w = W()
        w.evenHalf = e; w.oddHalf = o
        return w
    }

    /// Stores the six vectors of `t` at p, p + stride, ..., p + 5 stride (one row of a
    /// transform's six outputs, each into its own line or position block).
    @inline(__always)
    static func store<V: SIMD>(_ t: (V, V, V, V, V, V), _ p: UnsafeMutablePointer<V.Scalar>, stride: Int) {
        WinogradSIMD.store(t.0, p); WinogradSIMD.store(t.1, p + stride); WinogradSIMD.store(t.2, p + 2 &* stride)
        WinogradSIMD.store(t.3, p + 3 &* stride); WinogradSIMD.store(t.4, p + 4 &* stride); WinogradSIMD.store(t.5, p + 5 &* stride)
    }

    /// Lane 0 of each of the six vectors of `t`, at p, p + stride, ..., p + 5 stride (the scalar
    /// tails compute one column or tile as lane 0 of pairs).
    @inline(__always)
    static func storeFirstLanes<V: SIMD>(_ t: (V, V, V, V, V, V), _ p: UnsafeMutablePointer<V.Scalar>, stride: Int) {
        p[0] = t.0[0]; p[stride] = t.1[0]; p[2 &* stride] = t.2[0]
        p[3 &* stride] = t.3[0]; p[4 &* stride] = t.4[0]; p[5 &* stride] = t.5[0]
    }

    /// The six padded lines of one plane's row of 4x4 tiles from its input rows d0 ... d5
    /// (line position p is input column p - 1; zeros left and right of the image).
    @inline(__always)
    func combineRows4<T: TensorScalar>(_ d0: UnsafePointer<T>, _ d1: UnsafePointer<T>, _ d2: UnsafePointer<T>, _ d3: UnsafePointer<T>,
                                       _ d4: UnsafePointer<T>, _ d5: UnsafePointer<T>, into lines: UnsafeMutablePointer<T>) {
        let stride = lineWidth
        @inline(__always) func columns<V: SIMD>(_: V.Type, from start: Int) -> Int where V.Scalar == T {
            var x = start
            while x &+ V.scalarCount <= width {
                @inline(__always) func at(_ d: UnsafePointer<T>) -> V { WinogradSIMD.load(V.self, d + x) }
                Self.store(Self.inputRows(at(d0), at(d1), at(d2), at(d3), at(d4), at(d5)), lines + (x &+ 1), stride: stride)
                x &+= V.scalarCount
            }
            return x
        }
        var x = columns(SIMD4<T>.self, from: columns(SIMD8<T>.self, from: 0))
        while x < width {
            // One column: lane 0 of pairs that repeat it.
            @inline(__always) func at(_ d: UnsafePointer<T>) -> SIMD2<T> { SIMD2(repeating: d[x]) }
            Self.storeFirstLanes(Self.inputRows(at(d0), at(d1), at(d2), at(d3), at(d4), at(d5)), lines + (x &+ 1), stride: stride)
            x &+= 1
        }
        for i in 0..<6 {
            let line = lines + i &* stride
            line[0] = 0
            zeroRun(line + (1 &+ width), stride &- 1 &- width)
        }
    }

    /// V of one plane's row of 4x4 tiles from its six lines: tile tx of line i reads
    /// t[4tx ... 4tx + 5] and writes transform positions 6i ... 6i + 5 (`stride` apart).
    @inline(__always)
    func tileRow4<T: TensorScalar>(_ lines: UnsafeMutablePointer<T>, into out: UnsafeMutablePointer<T>, stride: Int) {
        for i in 0..<6 {
            let t = lines + i &* lineWidth
            let o = out + (6 &* i) &* stride
            // A quarter of W's lanes of tiles at a time: eight, four, two, then one.
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T, W.Half: SIMDHalves {
                var tx = start
                while tx &+ W.Half.Half.scalarCount <= tilesW {
                    let p = 4 &* tx
                    let (p0, p1, p2, p3) = Self.quarters(WinogradSIMD.load(W.self, t + p))
                    let (p4, p5, _, _) = Self.quarters(WinogradSIMD.load(W.self, t + (p &+ 4)))
                    Self.store(Self.inputRows(p0, p1, p2, p3, p4, p5), o + tx, stride: stride)
                    tx &+= W.Half.Half.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: tiles(SIMD32<T>.self, from: 0)))
            while tx < tilesW {
                let p = t + 4 &* tx
                @inline(__always) func at(_ j: Int) -> SIMD2<T> { SIMD2(repeating: p[j]) }
                Self.storeFirstLanes(Self.inputRows(at(0), at(1), at(2), at(3), at(4), at(5)), o + tx, stride: stride)
                tx &+= 1
            }
        }
    }

    /// dst [N, planes, H, W] rows of the 4x4 tiles in `rows` = Aᵀ M A (+ bias), from
    /// M [36, planes, columns].
    func outputTransform4<T: TensorScalar>(_ m: UnsafePointer<T>, planes: Int, rows: Range<Int>, bias: UnsafePointer<T>?,
                                           into dst: UnsafeMutablePointer<T>) {
        let columns = rows.count &* tilesW
        let stride = positionStride(planes, columns)
        let plane = height &* width
        forEachPlaneRow(rows, planes: 0..<planes) { c, r in
            let shift = bias?[c] ?? 0
            let n = r / tilesH, ty = r &- n &* tilesH
            let top = dst + (n &* planes &+ c) &* plane + 4 &* ty &* width
            let outRows = Swift.min(4, height &- 4 &* ty)
            let src = m + (c &* columns &+ (r &- rows.lowerBound) &* tilesW)
            // s[r][j] = Σ_i Aᵀ[r][i] M[6i + j] for each column j, then each output row r is Aᵀ
            // along s[r]; emit(r, y) gets the rows inside the image, bias added.
            @inline(__always) func block<Q: SIMD>(_ at: (Int) -> Q, _ emit: (_ r: Int, _ y: (Q, Q, Q, Q)) -> Void) where Q.Scalar == T {
                @inline(__always) func column(_ j: Int) -> (Q, Q, Q, Q) {
                    Self.outputRows(at(j), at(6 &+ j), at(12 &+ j), at(18 &+ j), at(24 &+ j), at(30 &+ j))
                }
                let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
                @inline(__always) func row(_ r: Int, _ y: (Q, Q, Q, Q)) {
                    if r < outRows { emit(r, (y.0 + shift, y.1 + shift, y.2 + shift, y.3 + shift)) }
                }
                row(0, Self.outputRows(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0))
                row(1, Self.outputRows(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1))
                row(2, Self.outputRows(c0.2, c1.2, c2.2, c3.2, c4.2, c5.2))
                row(3, Self.outputRows(c0.3, c1.3, c2.3, c3.3, c4.3, c5.3))
            }
            // A quarter of W's lanes of tiles at a time (the columns of the image's last tile
            // that lie beyond it are not stored).
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T, W.Half: SIMDHalves {
                typealias Q = W.Half.Half
                var tx = start
                while tx &+ Q.scalarCount <= tilesW {
                    let valid = width &- 4 &* tx
                    block({ k in WinogradSIMD.load(Q.self, src + (k &* stride &+ tx)) }) { r, y in
                        let row: W = Self.interleave(y.0, y.1, y.2, y.3)
                        WinogradSIMD.store(row, top + (r &* width &+ 4 &* tx), count: valid)
                    }
                    tx &+= Q.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: tiles(SIMD32<T>.self, from: 0)))
            while tx < tilesW {
                let x = 4 &* tx, outColumns = Swift.min(4, width &- x)
                block({ k in SIMD2(repeating: src[k &* stride &+ tx]) }) { r, y in
                    let o = top + (r &* width &+ x)
                    o[0] = y.0[0]
                    if outColumns > 1 { o[1] = y.1[0] }
                    if outColumns > 2 { o[2] = y.2[0] }
                    if outColumns > 3 { o[3] = y.3[0] }
                }
                tx &+= 1
            }
        }
    }

    /// dM [36, planes, columns] = A dy Aᵀ of every 4x4 tile of `g` [N, planes, H, W] in `rows`
    /// (the adjoint of `outputTransform4`; positions beyond the image are zero), or of the
    /// planes in `planeRange` only.
    func gradientTransform4<T: TensorScalar>(_ g: UnsafePointer<T>, planes: Int, only planeRange: Range<Int>, rows: Range<Int>,
                                             into dm: UnsafeMutablePointer<T>) {
        let columns = rows.count &* tilesW
        let stride = positionStride(planes, columns)
        let plane = height &* width
        forEachPlaneRow(rows, planes: planeRange) { c, r in
            let n = r / tilesH, ty = r &- n &* tilesH
            let top = g + (n &* planes &+ c) &* plane + 4 &* ty &* width
            let inRows = Swift.min(4, height &- 4 &* ty)
            let out = dm + (c &* columns &+ (r &- rows.lowerBound) &* tilesW)
            // From the tile's rows g0 ... g3 (columns .0 ... .3): q[i][c] = Σ_r A[i][r] g[r][c]
            // down each column, then dM[i][j] = Σ_c q[i][c] A[j][c] along each row i;
            // emit(i, dM[i]).
            @inline(__always) func block<Q: SIMD>(_ g0: (Q, Q, Q, Q), _ g1: (Q, Q, Q, Q), _ g2: (Q, Q, Q, Q), _ g3: (Q, Q, Q, Q),
                                                  _ emit: (_ i: Int, _ d: (Q, Q, Q, Q, Q, Q)) -> Void) where Q.Scalar == T {
                let q0 = Self.gradientRows(g0.0, g1.0, g2.0, g3.0), q1 = Self.gradientRows(g0.1, g1.1, g2.1, g3.1)
                let q2 = Self.gradientRows(g0.2, g1.2, g2.2, g3.2), q3 = Self.gradientRows(g0.3, g1.3, g2.3, g3.3)
                emit(0, Self.gradientRows(q0.0, q1.0, q2.0, q3.0))
                emit(1, Self.gradientRows(q0.1, q1.1, q2.1, q3.1))
                emit(2, Self.gradientRows(q0.2, q1.2, q2.2, q3.2))
                emit(3, Self.gradientRows(q0.3, q1.3, q2.3, q3.3))
                emit(4, Self.gradientRows(q0.4, q1.4, q2.4, q3.4))
                emit(5, Self.gradientRows(q0.5, q1.5, q2.5, q3.5))
            }
            // A quarter of W's lanes of tiles at a time (the columns of the image's last tile
            // that lie beyond it read as zeros).
            @inline(__always) func tiles<W: SIMDHalves>(_: W.Type, from start: Int) -> Int where W.Scalar == T, W.Half: SIMDHalves {
                typealias Q = W.Half.Half
                var tx = start
                while tx &+ Q.scalarCount <= tilesW {
                    let valid = width &- 4 &* tx
                    @inline(__always) func row(_ r: Int) -> (Q, Q, Q, Q) {
                        r < inRows ? Self.quarters(WinogradSIMD.load(W.self, top + (r &* width &+ 4 &* tx), count: valid)) : (Q(), Q(), Q(), Q())
                    }
                    block(row(0), row(1), row(2), row(3)) { i, d in Self.store(d, out + ((6 &* i) &* stride &+ tx), stride: stride) }
                    tx &+= Q.scalarCount
                }
                return tx
            }
            var tx = tiles(SIMD8<T>.self, from: tiles(SIMD16<T>.self, from: tiles(SIMD32<T>.self, from: 0)))
            while tx < tilesW {
                let x = 4 &* tx
                @inline(__always) func row(_ r: Int) -> (SIMD2<T>, SIMD2<T>, SIMD2<T>, SIMD2<T>) {
                    @inline(__always) func at(_ cc: Int) -> SIMD2<T> {
                        r < inRows && x &+ cc < width ? SIMD2(repeating: top[r &* width &+ x &+ cc]) : .zero
                    }
                    return (at(0), at(1), at(2), at(3))
                }
                block(row(0), row(1), row(2), row(3)) { i, d in Self.storeFirstLanes(d, out + ((6 &* i) &* stride &+ tx), stride: stride) }
                tx &+= 1
            }
        }
    }

    /// U [36, O, C] = G g Gᵀ for weights w [O, C, 3, 3] (with `flipped`, of each kernel turned
    /// by 180 degrees: tap t read as tap 8 - t).
    static func weightTransform4<T: TensorScalar>(_ w: UnsafePointer<T>, outChannels: Int, channels: Int, flipped: Bool,
                                                  into u: UnsafeMutablePointer<T>) {
        let count = outChannels &* channels, stride = weightStride(outChannels, channels)
        Parallel.forEachChunk(count, grain: 2048) { _, indices in
            // Eight kernels at a time, the same operations lane-wise; `lanes` of them are real.
            @inline(__always) func kernels(_ first: Int, lanes: Int) {
                let base = w + first &* 9
                @inline(__always) func tap(_ t: Int) -> SIMD8<T> {
                    let p = base + (flipped ? 8 &- t : t)
                    if lanes == 8 { return SIMD8(p[0], p[9], p[18], p[27], p[36], p[45], p[54], p[63]) }
                    var v = SIMD8<T>()
                    for lane in 0..<lanes { v[lane] = p[lane &* 9] }
                    return v
                }
                let c0 = kernelRows(tap(0), tap(3), tap(6)), c1 = kernelRows(tap(1), tap(4), tap(7)), c2 = kernelRows(tap(2), tap(5), tap(8))
                @inline(__always) func emit(_ i: Int, _ a: SIMD8<T>, _ b: SIMD8<T>, _ e: SIMD8<T>) {
                    let r = kernelRows(a, b, e)
                    let o = u + ((6 &* i) &* stride &+ first)
                    @inline(__always) func store(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) { WinogradSIMD.store(v, p, count: lanes) }
                    store(r.0, o); store(r.1, o + stride); store(r.2, o + 2 &* stride)
                    store(r.3, o + 3 &* stride); store(r.4, o + 4 &* stride); store(r.5, o + 5 &* stride)
                }
                emit(0, c0.0, c1.0, c2.0); emit(1, c0.1, c1.1, c2.1); emit(2, c0.2, c1.2, c2.2)
                emit(3, c0.3, c1.3, c2.3); emit(4, c0.4, c1.4, c2.4); emit(5, c0.5, c1.5, c2.5)
            }
            var first = indices.lowerBound
            while first < indices.upperBound {
                let lanes = Swift.min(8, indices.upperBound &- first)
                kernels(first, lanes: lanes)
                first &+= lanes
            }
        }
    }

    /// dW [O, C, 3, 3] = Gᵀ dU G from dU [36, O, C].
    static func weightGradient4<T: TensorScalar>(_ du: UnsafePointer<T>, outChannels: Int, channels: Int, into dw: UnsafeMutablePointer<T>) {
        let count = outChannels &* channels, stride = weightStride(outChannels, channels)
        Parallel.forEachChunk(count, grain: 2048) { _, indices in
            // Eight kernels at a time; `lanes` of them are real.
            @inline(__always) func kernels(_ first: Int, lanes: Int) {
                @inline(__always) func d(_ i: Int, _ j: Int) -> SIMD8<T> {
                    WinogradSIMD.load(SIMD8<T>.self, du + ((6 &* i &+ j) &* stride &+ first), count: lanes)
                }
                // Gᵀ down each column j, then along each of the three rows.
                @inline(__always) func column(_ j: Int) -> (SIMD8<T>, SIMD8<T>, SIMD8<T>) {
                    kernelGradientRows(d(0, j), d(1, j), d(2, j), d(3, j), d(4, j), d(5, j))
                }
                let h0 = column(0), h1 = column(1), h2 = column(2), h3 = column(3), h4 = column(4), h5 = column(5)
                let r0 = kernelGradientRows(h0.0, h1.0, h2.0, h3.0, h4.0, h5.0)
                let r1 = kernelGradientRows(h0.1, h1.1, h2.1, h3.1, h4.1, h5.1)
                let r2 = kernelGradientRows(h0.2, h1.2, h2.2, h3.2, h4.2, h5.2)
                for lane in 0..<lanes {
                    let out = dw + (first &+ lane) &* 9
                    out[0] = r0.0[lane]; out[1] = r0.1[lane]; out[2] = r0.2[lane]
                    out[3] = r1.0[lane]; out[4] = r1.1[lane]; out[5] = r1.2[lane]
                    out[6] = r2.0[lane]; out[7] = r2.1[lane]; out[8] = r2.2[lane]
                }
            }
            var first = indices.lowerBound
            while first < indices.upperBound {
                let lanes = Swift.min(8, indices.upperBound &- first)
                kernels(first, lanes: lanes)
                first &+= lanes
            }
        }
    }
}
