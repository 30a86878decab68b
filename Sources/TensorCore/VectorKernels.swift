/// Float32 inner loops written with explicit SIMD vectors. The compiler does not vectorise
/// Swift loops with conditional selects or floating-point reductions (it may not reorder the
/// additions), and these loops carry every pass over activations that is not a GEMM, so they
/// are spelt out 16 lanes at a time. Double tensors (gradient checks) use the plain loops.
///
/// On the baseline x86-64 target a SIMD16 is four SSE registers. `pointwiseMax` is lowered lane
/// by lane through the stack there (ten times slower), so maxima are written as
/// `replacing(with:where:)` on a comparison mask, which compiles to cmpps/andps; reductions keep
/// at most two 16-lane accumulators so that they stay in the sixteen registers.
///
/// Index arithmetic uses the wrapping operators (`&+`): `i` never exceeds `n`, a count of
/// elements already allocated, so no overflow check is needed in the loops.
enum VectorKernels {
    typealias V = SIMD16<Float>
    static let width = 16

    /// `value` where `keep`, else +0, without a branch. The scalar tails of the ReLU kernels
    /// decide on the sign of activations, which a branch predictor gets wrong about half the
    /// time: on maps of 9 or 49 values (the small CNN's 3x3 and 7x7 maps) the tails are most
    /// of the work, and a mispredicted branch per value made BatchNorm+ReLU's backward there
    /// several times slower per value than on large maps. The same values as `keep ? value : 0`.
    @inline(__always) static func select(_ value: Float, where keep: Bool) -> Float {
        Float(bitPattern: value.bitPattern & (0 &- UInt32(unsafeBitCast(keep, to: UInt8.self))))
    }

    /// max(v, 0) as `Swift.max(v, 0)` gives it (v itself where 0 >= v fails, NaN included),
    /// without a branch (see `select`).
    @inline(__always) static func positivePart(_ v: Float) -> Float { select(v, where: !(0 >= v)) }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// y = max(x, 0)
    @inline(__always)
    static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let zero = V(repeating: 0)
        while i &+ width <= n {
            let v = load(x + i)
            store(v.replacing(with: zero, where: v .< zero), y + i)
            i &+= width
        }
        while i < n { y[i] = positivePart(x[i]); i &+= 1 }
    }

    /// d = y > 0 ? g : 0
    @inline(__always)
    static func reluBackward(_ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let zero = V(repeating: 0)
        while i &+ width <= n {
            store(load(g + i).replacing(with: zero, where: load(y + i) .<= zero), d + i)
            i &+= width
        }
        while i < n { d[i] = select(g[i], where: y[i] > 0); i &+= 1 }
    }

    /// z = x op y elementwise
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ width <= n { store(load(x + i) + load(y + i), z + i); i &+= width }
        while i < n { z[i] = x[i] + y[i]; i &+= 1 }
    }

    @inline(__always)
    static func subtract(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ width <= n { store(load(x + i) - load(y + i), z + i); i &+= width }
        while i < n { z[i] = x[i] - y[i]; i &+= 1 }
    }

    @inline(__always)
    static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ width <= n { store(load(x + i) * load(y + i), z + i); i &+= width }
        while i < n { z[i] = x[i] * y[i]; i &+= 1 }
    }

    /// z = a * x + b
    @inline(__always)
    static func affine(_ x: UnsafePointer<Float>, _ a: Float, _ b: Float, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let va = V(repeating: a), vb = V(repeating: b)
        while i &+ width <= n { store(load(x + i) * va + vb, z + i); i &+= width }
        while i < n { z[i] = x[i] * a + b; i &+= 1 }
    }

    /// z = max(a * x + b, 0)
    @inline(__always)
    static func affineReLU(_ x: UnsafePointer<Float>, _ a: Float, _ b: Float, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let va = V(repeating: a), vb = V(repeating: b), zero = V(repeating: 0)
        while i &+ width <= n {
            let v = load(x + i) * va + vb
            store(v.replacing(with: zero, where: v .< zero), z + i)
            i &+= width
        }
        while i < n { z[i] = positivePart(x[i] * a + b); i &+= 1 }
    }

    /// z = max(a x + b + r, 0)
    @inline(__always)
    static func affineAddReLU(_ x: UnsafePointer<Float>, _ a: Float, _ b: Float, _ r: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>,
                              _ n: Int) {
        var i = 0
        let va = V(repeating: a), vb = V(repeating: b), zero = V(repeating: 0)
        while i &+ width <= n {
            let v = (load(x + i) * va + vb) + load(r + i)
            store(v.replacing(with: zero, where: v .< zero), z + i)
            i &+= width
        }
        while i < n { z[i] = positivePart((x[i] * a + b) + r[i]); i &+= 1 }
    }

    /// x += y
    @inline(__always)
    static func accumulate(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ width <= n { store(load(x + i) + load(y + i), x + i); i &+= width }
        while i < n { x[i] += y[i]; i &+= 1 }
    }

    /// Sum of x, with two vector accumulators.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a = V(repeating: 0), b = a
        var i = 0
        while i &+ 2 &* width <= n {
            a += load(x + i); b += load(x + (i &+ width))
            i &+= 2 &* width
        }
        while i &+ width <= n { a += load(x + i); i &+= width }
        var total = (a + b).sum()
        while i < n { total += x[i]; i &+= 1 }
        return total
    }

    /// Sum of (x - mean)^2.
    @inline(__always)
    static func centeredSquares(_ x: UnsafePointer<Float>, _ mean: Float, _ n: Int) -> Float {
        var a = V(repeating: 0), b = a
        let m = V(repeating: mean)
        var i = 0
        while i &+ 2 &* width <= n {
            let u = load(x + i) - m, v = load(x + (i &+ width)) - m
            a += u * u; b += v * v
            i &+= 2 &* width
        }
        while i &+ width <= n { let u = load(x + i) - m; a += u * u; i &+= width }
        var total = (a + b).sum()
        while i < n { let u = x[i] - mean; total += u * u; i &+= 1 }
        return total
    }

    /// (sum g, sum g * (x - mean)).
    @inline(__always)
    static func gradientMoments(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ mean: Float, _ n: Int) -> (Float, Float) {
        var s = V(repeating: 0), t = s
        let m = V(repeating: mean)
        var i = 0
        while i &+ width <= n {
            let gv = load(g + i)
            s += gv
            t += gv * (load(x + i) - m)
            i &+= width
        }
        var a = s.sum(), b = t.sum()
        while i < n { a += g[i]; b += g[i] * (x[i] - mean); i &+= 1 }
        return (a, b)
    }

    /// d = a * (g - b - (x - mean) * c)
    @inline(__always)
    static func normalizationBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>,
                                      a: Float, b: Float, c: Float, mean: Float, _ n: Int) {
        var i = 0
        let va = V(repeating: a), vb = V(repeating: b), vc = V(repeating: c), m = V(repeating: mean)
        while i &+ width <= n {
            store(va * (load(g + i) - vb - (load(x + i) - m) * vc), d + i)
            i &+= width
        }
        while i < n { d[i] = a * (g[i] - b - (x[i] - mean) * c); i &+= 1 }
    }
}

extension VectorKernels {
    /// The mask of a ReLU whose input was v = a x + b (+ r), recomputed from x (and r) with the
    /// forward pass's operations (`affineReLU`, `affineAddReLU`), so v > 0 exactly where the
    /// forward output y = max(v, 0) was positive: BatchNorm+ReLU's backward needs neither y
    /// nor a recomputation of it.
    @inline(__always)
    static func reluPre(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>?, _ i: Int, _ va: V, _ vb: V) -> V {
        let v = load(x + i) * va + vb
        return r.map { v + load($0 + i) } ?? v
    }

    @inline(__always)
    static func reluPre(_ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>?, _ i: Int, _ a: Float, _ b: Float) -> Float {
        let v = x[i] * a + b
        return r.map { v + $0[i] } ?? v
    }

    /// (sum g', sum g' * (x - mean)) with g' = g where the ReLU's input a x + b (+ r) > 0 (see `reluPre`).
    @inline(__always)
    static func reluGradientMoments(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>?, scale: Float, shift: Float,
                                    _ mean: Float, _ n: Int) -> (Float, Float) {
        var s = V(repeating: 0), t = s
        let m = V(repeating: mean), zero = V(repeating: 0), va = V(repeating: scale), vb = V(repeating: shift)
        var i = 0
        while i &+ width <= n {
            let gv = load(g + i).replacing(with: zero, where: reluPre(x, r, i, va, vb) .<= zero)
            s += gv
            t += gv * (load(x + i) - m)
            i &+= width
        }
        var a = s.sum(), b = t.sum()
        while i < n { let gv = select(g[i], where: reluPre(x, r, i, scale, shift) > 0); a += gv; b += gv * (x[i] - mean); i &+= 1 }
        return (a, b)
    }

    /// d = a * (g' - b - (x - mean) * c), g' as in `reluGradientMoments`.
    @inline(__always)
    static func reluNormalizationBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>?,
                                          _ d: UnsafeMutablePointer<Float>, scale: Float, shift: Float,
                                          a: Float, b: Float, c: Float, mean: Float, _ n: Int) {
        var i = 0
        let va = V(repeating: a), vb = V(repeating: b), vc = V(repeating: c), m = V(repeating: mean), zero = V(repeating: 0)
        let vs = V(repeating: scale), vt = V(repeating: shift)
        while i &+ width <= n {
            let gv = load(g + i).replacing(with: zero, where: reluPre(x, r, i, vs, vt) .<= zero)
            store(va * (gv - vb - (load(x + i) - m) * vc), d + i)
            i &+= width
        }
        while i < n { let gv = select(g[i], where: reluPre(x, r, i, scale, shift) > 0); d[i] = a * (gv - b - (x[i] - mean) * c); i &+= 1 }
    }

    /// d = g where a x + b + r > 0, else 0 (the residual's gradient through the ReLU).
    @inline(__always)
    static func reluMasked(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ r: UnsafePointer<Float>, scale: Float, shift: Float,
                           _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let zero = V(repeating: 0), vs = V(repeating: scale), vt = V(repeating: shift)
        while i &+ width <= n {
            store(load(g + i).replacing(with: zero, where: reluPre(x, r, i, vs, vt) .<= zero), d + i)
            i &+= width
        }
        while i < n { d[i] = select(g[i], where: reluPre(x, r, i, scale, shift) > 0); i &+= 1 }
    }
}
