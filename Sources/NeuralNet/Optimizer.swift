import TensorCore

/// A set of parameters with their own hyper-parameters (learning rate 0 freezes a group while
/// keeping it in the optimizer, as the CCSI classifier's old-class weights).
public struct ParameterGroup {
    public var parameters: [Parameter]
    public var learningRate: Double
    public var weightDecay: Double

    public init(_ parameters: [Parameter], learningRate: Double, weightDecay: Double = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// Base of the optimizers: walks the groups and hands each parameter with a gradient to
/// `update`; subclasses own only their state and their update rule (as MLXOptimizers).
open class Optimizer {
    /// Fewest elements per thread in an update: each element's update is independent of the
    /// others (so results do not depend on the split); below this, threads cost more than they save.
    static let grain = 1 << 15

    public var groups: [ParameterGroup]
    /// Per-parameter state (momentum buffers, moments), keyed by the parameter.
    public var state: [ObjectIdentifier: [String: Tensor]] = [:]
    /// Steps taken.
    public internal(set) var steps = 0

    public init(groups: [ParameterGroup]) { self.groups = groups }

    public convenience init(_ parameters: [Parameter], learningRate: Double, weightDecay: Double = 0) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    /// Sets every group's learning rate (schedulers call this).
    public func setLearningRate(_ rate: Double) {
        for k in groups.indices { groups[k].learningRate = rate }
    }

    public func zeroGrad() {
        for group in groups { for parameter in group.parameters { parameter.value.grad = nil } }
    }

    /// One update of every parameter that has a gradient.
    public func step() {
        steps += 1
        Autograd.withNoGrad {
            for group in groups {
                for parameter in group.parameters where !parameter.frozen {
                    guard let gradient = parameter.value.grad else { continue }
                    let key = ObjectIdentifier(parameter)
                    var slots = state[key] ?? [:]
                    update(parameter.value, gradient: gradient, group: group, state: &slots)
                    state[key] = slots
                }
            }
        }
    }

    /// Updates `value` in place from `gradient`.
    open func update(_ value: Tensor, gradient: Tensor, group: ParameterGroup, state: inout [String: Tensor]) {
        preconditionFailure("\(type(of: self)) must override update(_:gradient:group:state:)")
    }
}

/// Stochastic gradient descent as torch.optim.SGD: d = g + wd * p; with momentum,
/// buf = momentum * buf + (1 - dampening) * d (buf = d at the first step) and d = buf (or
/// d + momentum * buf for Nesterov); p -= lr * d.
public final class SGD: Optimizer {
    public var momentum: Double
    public var dampening: Double
    public var nesterov: Bool

    public init(groups: [ParameterGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(groups: groups)
    }

    public convenience init(_ parameters: [Parameter], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0, nesterov: Bool = false) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)], momentum: momentum, nesterov: nesterov)
    }

    public override func update(_ value: Tensor, gradient: Tensor, group: ParameterGroup, state: inout [String: Tensor]) {
        let lr = group.learningRate, wd = group.weightDecay
        let n = value.count
        // Settings read once into locals: the loop then touches no class property (no access checks).
        let nesterov = self.nesterov
        func kernel<T: TensorScalar>(_: T.Type) {
            let p = value.pointer(T.self), g = gradient.pointer(T.self)
            let decay = T(wd), mu = T(momentum), keep = T(1 - dampening), rate = T(lr)
            guard momentum != 0 else {
                Parallel.forEachChunk(n, grain: Optimizer.grain) { _, range in
                    for i in range { p[i] -= rate * (g[i] + decay * p[i]) }
                }
                return
            }
            let first = state["momentum_buffer"] == nil
            let buffer = state["momentum_buffer"] ?? Tensor(shape: value.shape, dtype: value.dtype, zeroed: false)
            state["momentum_buffer"] = buffer
            let b = buffer.pointer(T.self)
            Parallel.forEachChunk(n, grain: Optimizer.grain) { _, range in
                var i = range.lowerBound
                if T.self == Float.self {
                    i = SGD.momentumLanes(UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self),
                                          UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
                                          UnsafeMutableRawPointer(b).assumingMemoryBound(to: Float.self), range,
                                          decay: decay as! Float, mu: mu as! Float, keep: keep as! Float, rate: rate as! Float,
                                          first: first, nesterov: nesterov)
                }
                while i < range.upperBound {
                    let d = g[i] + decay * p[i]
                    b[i] = first ? d : mu * b[i] + keep * d
                    p[i] -= rate * (nesterov ? d + mu * b[i] : b[i])
                    i += 1
                }
            }
        }
        value.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
    }
}

extension SGD {
    /// The momentum update of values range.lowerBound ..< (the last whole vector), 16 float32
    /// lanes at a time with the scalar loop's operations in its order (no fused multiply-adds),
    /// so the same values; returns where the scalar loop takes over. The compiler left that loop
    /// scalar, testing `first` and `nesterov` per value: 3% of ResNet-18-64's training step.
    @inline(__always)
    static func momentumLanes(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ b: UnsafeMutablePointer<Float>,
                              _ range: Range<Int>, decay: Float, mu: Float, keep: Float, rate: Float,
                              first: Bool, nesterov: Bool) -> Int {
        typealias V = SIMD16<Float>
        @inline(__always) func load(_ q: UnsafePointer<Float>) -> V { UnsafeRawPointer(q).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ q: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(q).storeBytes(of: v, as: V.self) }
        let vDecay = V(repeating: decay), vMu = V(repeating: mu), vKeep = V(repeating: keep), vRate = V(repeating: rate)
        var i = range.lowerBound
        while i &+ V.scalarCount <= range.upperBound {
            let value = load(p + i)
            let d = load(g + i) + vDecay * value
            let velocity = first ? d : vMu * load(b + i) + vKeep * d
            store(velocity, b + i)
            store(value - vRate * (nesterov ? d + vMu * velocity : velocity), p + i)
            i &+= V.scalarCount
        }
        return i
    }
}

/// Adam as torch.optim.Adam (L2 weight decay added to the gradient; `decoupled` gives AdamW):
/// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
public final class Adam: Optimizer {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var decoupled: Bool

    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupled = decoupled
        super.init(groups: groups)
    }

    public convenience init(_ parameters: [Parameter], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                            epsilon: Double = 1e-8, weightDecay: Double = 0, decoupled: Bool = false) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: decoupled)
    }

    public override func update(_ value: Tensor, gradient: Tensor, group: ParameterGroup, state: inout [String: Tensor]) {
        let exp1 = state["exp_avg"] ?? Tensor(shape: value.shape, dtype: value.dtype)
        let exp2 = state["exp_avg_sq"] ?? Tensor(shape: value.shape, dtype: value.dtype)
        let step = (state["step"]?.item() ?? 0) + 1
        state["exp_avg"] = exp1
        state["exp_avg_sq"] = exp2
        state["step"] = Tensor.scalar(step, dtype: .float64)
        let correction1 = 1 - Double.pow(beta1, step), correction2 = 1 - Double.pow(beta2, step)
        let stepSize = group.learningRate / correction1, sqrtCorrection2 = correction2.squareRoot()
        let n = value.count
        let decoupled = self.decoupled
        func kernel<T: TensorScalar>(_: T.Type) {
            let p = value.pointer(T.self), g = gradient.pointer(T.self), m = exp1.pointer(T.self), v = exp2.pointer(T.self)
            let b1 = T(beta1), b2 = T(beta2), eps = T(epsilon), wd = T(group.weightDecay), size = T(stepSize), root2 = T(sqrtCorrection2)
            let decay = T(group.learningRate * group.weightDecay)
            Parallel.forEachChunk(n, grain: Optimizer.grain) { _, range in
                for i in range {
                    var d = g[i]
                    if decoupled { p[i] -= decay * p[i] } else { d += wd * p[i] }
                    m[i] = b1 * m[i] + (1 - b1) * d
                    v[i] = b2 * v[i] + (1 - b2) * d * d
                    p[i] -= size * m[i] / (v[i].squareRoot() / root2 + eps)
                }
            }
        }
        value.dtype == .float32 ? kernel(Float.self) : kernel(Double.self)
    }
}
