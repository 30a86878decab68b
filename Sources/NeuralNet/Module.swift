import TensorCore

/// A trainable tensor of a module. Frozen parameters do not require gradients.
public final class Parameter: @unchecked Sendable {
    public var value: Tensor {
        didSet { value.requiresGrad = !frozen }
    }

    public var frozen: Bool {
        didSet { value.requiresGrad = !frozen }
    }

    public init(_ value: Tensor, frozen: Bool = false) {
        self.value = value
        self.frozen = frozen
        value.requiresGrad = !frozen
    }

    public var grad: Tensor? { value.grad }
}

/// A non-trainable tensor a module keeps and checkpoints (running statistics). Integer
/// buffers (BatchNorm's num_batches_tracked) are stored as int64 in checkpoints.
public final class Buffer: @unchecked Sendable {
    public var value: Tensor
    public let isInteger: Bool

    public init(_ value: Tensor, isInteger: Bool = false) {
        self.value = value
        self.isInteger = isInteger
    }
}

/// Base class of layers and models, in the manner of PyTorch's nn.Module and mlx-swift's
/// Module: parameters, buffers and child modules are stored properties, found by reflection,
/// and named with PyTorch's dotted keys from the property names (`layer1.0.conv1.weight`;
/// arrays of modules number their elements, optional modules that are nil are skipped).
open class Module {
    /// Training mode (batch statistics, active dropout) or evaluation.
    public private(set) var training = true

    private var hooks: [(id: Int, body: (Module, Tensor, Tensor) -> Void)] = []
    private var nextHook = 0

    public init() {}

    /// The computation of modules that take one tensor; others define their own call.
    open func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) does not define forward(_:) for a single tensor input")
    }

    /// Runs `forward` and then the forward hooks with (module, input, output).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = forward(x)
        for hook in hooks { hook.body(self, x, y) }
        return y
    }

    /// Registers a hook that sees every call's input and output (still in the autograd graph,
    /// so losses on hooked activations are differentiable). Returns a handle for removal.
    @discardableResult
    public func addForwardHook(_ body: @escaping (Module, Tensor, Tensor) -> Void) -> Int {
        nextHook += 1
        hooks.append((nextHook, body))
        return nextHook
    }

    public func removeForwardHook(_ id: Int) { hooks.removeAll { $0.id == id } }

    /// Whether any forward hook is registered: fused fast paths (BatchNorm2d's
    /// `normalizedReLU`) step aside so that hooks see the module's own output.
    public var hasForwardHooks: Bool { !hooks.isEmpty }

    // MARK: - reflection

    /// Direct children in declaration order, with their names.
    open func namedChildren() -> [(String, Module)] {
        var out: [(String, Module)] = []
        forEachProperty { label, value in
            if let module = value as? Module {
                out.append((label, module))
            } else if let modules = value as? [Module] {
                for (index, module) in modules.enumerated() { out.append(("\(label).\(index)", module)) }
            }
        }
        return out
    }

    /// This module's own parameters (not its children's).
    func ownParameters() -> [(String, Parameter)] {
        var out: [(String, Parameter)] = []
        forEachProperty { label, value in if let parameter = value as? Parameter { out.append((label, parameter)) } }
        return out
    }

    func ownBuffers() -> [(String, Buffer)] {
        var out: [(String, Buffer)] = []
        forEachProperty { label, value in if let buffer = value as? Buffer { out.append((label, buffer)) } }
        return out
    }

    private func forEachProperty(_ body: (String, Any) -> Void) {
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [Mirror] = []
        while let m = mirror { levels.append(m); mirror = m.superclassMirror }
        // Superclass properties first, as declared.
        for level in levels.reversed() {
            for child in level.children {
                guard let label = child.label, !label.hasPrefix("_") else { continue }
                body(label, child.value)
            }
        }
    }

    /// Every module of the tree with its dotted name ("" for the root).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (name, child) in namedChildren() {
            out += child.namedModules(prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
        }
        return out
    }

    /// Every parameter with its PyTorch key.
    public func namedParameters() -> [(String, Parameter)] {
        namedModules().flatMap { prefix, module in
            module.ownParameters().map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
        }
    }

    public func namedBuffers() -> [(String, Buffer)] {
        namedModules().flatMap { prefix, module in
            module.ownBuffers().map { (prefix.isEmpty ? $0.0 : "\(prefix).\($0.0)", $0.1) }
        }
    }

    public func parameters() -> [Parameter] { namedParameters().map(\.1) }

    /// Parameters that are not frozen.
    public func trainableParameters() -> [Parameter] { parameters().filter { !$0.frozen } }

    // MARK: - modes

    /// Sets training mode on this module and all below it.
    public func train(_ on: Bool = true) {
        for (_, module) in namedModules() { module.training = on }
    }

    /// Evaluation mode on this module and all below it.
    public func eval() { train(false) }

    /// Freezes (or unfreezes) every parameter below this module.
    public func freeze(_ frozen: Bool = true) {
        for parameter in parameters() { parameter.frozen = frozen }
    }

    /// Clears the gradients of every parameter.
    public func zeroGrad() {
        for parameter in parameters() { parameter.value.grad = nil }
    }

    /// Number of scalars in the parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.value.count } }
}
