import RealModule

/// Elementwise arithmetic with broadcasting, and elementwise functions, each with its
/// gradient.
enum BinaryOperation { case add, subtract, multiply, divide, maximum, minimum }

@inline(__always)
func applyBinary<T: TensorScalar>(_ op: BinaryOperation, _ x: T, _ y: T) -> T {
    switch op {
    case .add: return x + y
    case .subtract: return x - y
    case .multiply: return x * y
    case .divide: return x / y
    case .maximum: return x >= y ? x : y
    case .minimum: return x <= y ? x : y
    }
}

/// The forward computation of a binary operation, broadcasting as needed.
func binaryForward(_ op: BinaryOperation, _ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.dtype == b.dtype, "dtype mismatch: \(a.dtype) and \(b.dtype)")
    let shape = a.shape == b.shape ? a.shape : Broadcast.shape(a.shape, b.shape)
    let out = Tensor(shape: shape, dtype: a.dtype, zeroed: false)
    if a.dtype == .float32 && a.shape == b.shape && (op == .add || op == .subtract || op == .multiply) {
        let x = a.pointer(Float.self), y = b.pointer(Float.self), z = out.pointer(Float.self)
        Parallel.forEachChunk(out.count, grain: 1 << 16) { _, r in
            let (xs, ys, zs) = (x + r.lowerBound, y + r.lowerBound, z + r.lowerBound)
            switch op {
            case .add: VectorKernels.add(xs, ys, zs, r.count)
            case .subtract: VectorKernels.subtract(xs, ys, zs, r.count)
            default: VectorKernels.multiply(xs, ys, zs, r.count)
            }
        }
        return out
    }
    func kernel<T: TensorScalar>(_: T.Type) {
        let x = a.pointer(T.self), y = b.pointer(T.self), z = out.pointer(T.self)
        let n = out.count
        if a.shape == b.shape {
            switch op {
            case .add: for i in 0..<n { z[i] = x[i] + y[i] }
            case .subtract: for i in 0..<n { z[i] = x[i] - y[i] }
            case .multiply: for i in 0..<n { z[i] = x[i] * y[i] }
            default: for i in 0..<n { z[i] = applyBinary(op, x[i], y[i]) }
            }
        } else if b.count == 1 && a.count == n {
            let s = y[0]
            switch op {
            case .add: for i in 0..<n { z[i] = x[i] + s }
            case .multiply: for i in 0..<n { z[i] = x[i] * s }
            default: for i in 0..<n { z[i] = applyBinary(op, x[i], s) }
            }
        } else if a.count == 1 && b.count == n {
            let s = x[0]
            for i in 0..<n { z[i] = applyBinary(op, s, y[i]) }
        } else {
            let sa = Broadcast.strides(of: a.shape, in: shape), sb = Broadcast.strides(of: b.shape, in: shape)
            Broadcast.forEach(shape, sa, sb) { o, i, j in z[o] = applyBinary(op, x[i], y[j]) }
        }
    }
    a.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
    return out
}

public func + (a: Tensor, b: Tensor) -> Tensor {
    let out = binaryForward(.add, a, b)
    let (shapeA, shapeB) = (a.shape, b.shape)
    return record(out, "add", [a, b]) { g in [g.sum(toShape: shapeA), g.sum(toShape: shapeB)] }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    let out = binaryForward(.subtract, a, b)
    let (shapeA, shapeB) = (a.shape, b.shape)
    return record(out, "sub", [a, b]) { g in [g.sum(toShape: shapeA), (-g).sum(toShape: shapeB)] }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    let out = binaryForward(.multiply, a, b)
    return record(out, "mul", [a, b], keeps: [a, b]) { g in
        [a.requiresGrad ? (g * b).sum(toShape: a.shape) : nil, b.requiresGrad ? (g * a).sum(toShape: b.shape) : nil]
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    let out = binaryForward(.divide, a, b)
    return record(out, "div", [a, b], keeps: [a, b]) { g in
        [a.requiresGrad ? (g / b).sum(toShape: a.shape) : nil,
         b.requiresGrad ? (-(g * a) / (b * b)).sum(toShape: b.shape) : nil]
    }
}

/// Elementwise maximum; the gradient goes to the larger input (to `a` on ties).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let out = binaryForward(.maximum, a, b)
    return record(out, "maximum", [a, b], keeps: [a, b]) { g in
        let takeA = binaryForward(.maximum, a, b).equalMask(a)
        return [(g * takeA).sum(toShape: a.shape), (g * (1 - takeA)).sum(toShape: b.shape)]
    }
}

public func + (a: Tensor, s: Double) -> Tensor { a.affine(scale: 1, shift: s) }
public func + (s: Double, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
public func - (a: Tensor, s: Double) -> Tensor { a.affine(scale: 1, shift: -s) }
public func - (s: Double, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
public func * (a: Tensor, s: Double) -> Tensor { a.affine(scale: s, shift: 0) }
public func * (s: Double, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
public func / (a: Tensor, s: Double) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
public prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }
public func / (s: Double, a: Tensor) -> Tensor { a.reciprocal() * s }

extension Tensor {
    /// scale * x + shift.
    public func affine(scale: Double, shift: Double) -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        if dtype == .float32 {
            let x = pointer(Float.self), z = out.pointer(Float.self)
            VectorKernels.affine(x, Float(scale), Float(shift), z, count)
            return record(out, "affine", [self]) { g in [g.affine(scale: scale, shift: 0)] }
        }
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            let a = T(scale), b = T(shift)
            for i in 0..<count { z[i] = a * x[i] + b }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return record(out, "affine", [self]) { g in [g.affine(scale: scale, shift: 0)] }
    }

    /// 1 where `self == other` elementwise, else 0 (no gradient).
    func equalMask(_ other: Tensor) -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), y = other.pointer(T.self), z = out.pointer(T.self)
            for i in 0..<count { z[i] = x[i] == y[i] ? 1 : 0 }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }

    /// Applies `f` elementwise; `df(x, y)` is the derivative given input x and output y.
    func unary(_ name: String, _ f: @escaping (Double) -> Double, derivative: @escaping (Tensor, Tensor) -> Tensor) -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            for i in 0..<count { z[i] = T(f(Double(x[i]))) }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        let y = out.detach()
        return record(out, name, [self], keeps: [self, out]) { g in [g * derivative(self, y)] }
    }

    public func exp() -> Tensor { unary("exp", { .exp($0) }) { _, y in y.detach() } }
    public func log() -> Tensor { unary("log", { .log($0) }) { x, _ in x.detach().reciprocal() } }
    public func reciprocal() -> Tensor { unary("reciprocal", { 1 / $0 }) { _, y in -(y.detach() * y.detach()) } }
    public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }) { _, y in y.detach().reciprocal() * 0.5 } }
    public func squared() -> Tensor { self * self }
    public func abs() -> Tensor { unary("abs", { Swift.abs($0) }) { x, _ in x.detach().sign() } }
    public func tanh() -> Tensor { unary("tanh", { .tanh($0) }) { _, y in 1 - y.detach() * y.detach() } }

    /// x^p for a constant p.
    public func pow(_ p: Double) -> Tensor {
        unary("pow", { .pow($0, p) }) { x, _ in p * x.detach().pow(p - 1) }
    }

    /// -1, 0 or 1 (no gradient).
    public func sign() -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self)
            for i in 0..<count { z[i] = x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0) }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return out
    }

    /// Clamps to [low, high]; the gradient passes where the input was inside.
    public func clamped(min low: Double, max high: Double) -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, zeroed: false)
        let mask = Tensor(shape: shape, dtype: dtype, zeroed: false)
        func kernel<T: TensorScalar>(_: T.Type) {
            let x = pointer(T.self), z = out.pointer(T.self), m = mask.pointer(T.self)
            let lo = T(low), hi = T(high)
            for i in 0..<count {
                let v = x[i]
                z[i] = v < lo ? lo : (v > hi ? hi : v)
                m[i] = v < lo || v > hi ? 0 : 1
            }
        }
        dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
        return record(out, "clamp", [self]) { g in [g * mask] }
    }
}

/// a += b in place (same shape and dtype), outside the graph.
func addInPlace(_ a: Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape && a.dtype == b.dtype)
    if a.dtype == .float32 {
        let x = a.pointer(Float.self), y = b.pointer(Float.self)
        Parallel.forEachChunk(a.count, grain: 1 << 15) { _, range in
            VectorKernels.accumulate(x + range.lowerBound, y + range.lowerBound, range.count)
        }
        return
    }
    func kernel<T: TensorScalar>(_: T.Type) {
        let x = a.pointer(T.self), y = b.pointer(T.self)
        for i in 0..<a.count { x[i] += y[i] }
    }
    a.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
}
