/// How a tensor was computed: its inputs and the function that maps the gradient of the
/// output to gradients of the inputs (nil for an input that gets none).
final class GradNode {
    /// Stands in for a node whose graph a backward pass has released.
    static let released = GradNode(name: "released", inputs: []) { _ in
        fatalError("backward through a graph that an earlier backward() released; pass retainGraph: true to the first one")
    }

    let name: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Whether operations record the graph for backward passes. The mode is per thread (as in
/// PyTorch), so evaluation on one thread never switches recording off for another.
public enum Autograd {
    /// Thread-specific flag: no value (the default) means recording is on.
    private static let disabledKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var enabled: Bool {
        get { pthread_getspecific(disabledKey) == nil }
        set { pthread_setspecific(disabledKey, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    public static var isEnabled: Bool { enabled }

    /// Runs `body` without recording (evaluation, optimizer updates, statistics).
    public static func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = enabled
        enabled = false
        defer { enabled = previous }
        return try body()
    }

    /// Runs `body` with recording on (e.g. synthesis inside an evaluation loop).
    public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = enabled
        enabled = true
        defer { enabled = previous }
        return try body()
    }
}

/// Attaches `backward` to `output` when recording is on and an input needs gradients.
@inline(__always)
func record(_ output: Tensor, _ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
    guard Autograd.enabled, inputs.contains(where: { $0.requiresGrad }) else { return output }
    output.requiresGrad = true
    output.node = GradNode(name: name, inputs: inputs, backward: backward)
    return output
}

extension Tensor {
    /// Whether this tensor was created by the user rather than computed by a recorded op.
    public var isLeaf: Bool { node == nil }

    /// Back-propagates from this tensor: a scalar (gradient 1) or any tensor with an explicit
    /// `gradient` of its shape. Leaves with `requiresGrad` accumulate into `grad`. The graph
    /// is released afterwards unless `retainGraph` (as in PyTorch): a second backward through
    /// a released graph stops with an error instead of giving wrong gradients.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad")
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "gradient shape \(gradient.shape) for tensor \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward() without a gradient needs a scalar, not \(shape)")
            seed = Tensor.full(shape, value: 1, dtype: dtype)
        }
        // Reverse topological order of the recorded graph (iterative DFS).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            if let node = tensor.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        Autograd.withNoGrad {
            for tensor in order.reversed() {
                guard let gradient = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
                guard let node = tensor.node else {
                    tensor.accumulateGrad(gradient)
                    continue
                }
                let inputGrads = node.backward(gradient)
                precondition(inputGrads.count == node.inputs.count, "\(node.name): backward returned \(inputGrads.count) grads")
                for (input, inputGrad) in zip(node.inputs, inputGrads) where input.requiresGrad {
                    guard let inputGrad else { continue }
                    precondition(inputGrad.shape == input.shape, "\(node.name): gradient \(inputGrad.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] {
                        grads[key] = existing + inputGrad
                    } else {
                        grads[key] = inputGrad
                    }
                }
                if !retainGraph { tensor.node = GradNode.released }
            }
        }
    }

    /// Adds to `grad` without aliasing tensors that backward functions may share.
    func accumulateGrad(_ gradient: Tensor) {
        if let existing = grad {
            addInPlace(existing, gradient)
        } else {
            grad = gradient.clone()
        }
    }
}
