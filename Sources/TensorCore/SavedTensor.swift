/// How to compute a tensor again, bit for bit, from what its producer keeps anyway: an op whose
/// output is cheap to recompute (BatchNorm + ReLU: one affine pass) attaches one, and a backward
/// function that reads that output recomputes it instead of keeping it through the forward pass.
final class Recomputation {
    /// The tensors `compute` reads (for memory reports).
    let inputs: [Tensor]
    let compute: () -> Tensor

    init(inputs: [Tensor], compute: @escaping () -> Tensor) {
        self.inputs = inputs
        self.compute = compute
    }
}

/// A tensor that a backward function reads (PyTorch's SavedVariable).
///
/// An ordinary tensor is kept as a view of its storage without its graph node, so an op can
/// save its own output without a reference cycle (output -> node -> backward -> output). A tensor
/// with a `Recomputation` is kept only weakly: `value()` returns it while something else still
/// holds it, and otherwise recomputes it (same kernels, same order, so the same bits), so that
/// an activation between BatchNorm+ReLU and the next convolution is not kept through the
/// forward pass; the recomputed copy lives only while the backward function runs.
final class SavedTensor {
    private let stored: Tensor?
    private weak var original: Tensor?
    private let recomputation: Recomputation?

    init(_ tensor: Tensor) {
        if let recomputation = tensor.node?.recomputation {
            stored = nil
            original = tensor
            self.recomputation = recomputation
        } else {
            stored = tensor.detach()
            recomputation = nil
        }
    }

    /// Whether `value()` would recompute now (the original is no longer held elsewhere).
    var isRecomputed: Bool { stored == nil && original == nil }

    /// The tensor's values (no graph node).
    func value() -> Tensor {
        if let stored { return stored }
        if let original { return original.detach() }
        return recomputation!.compute()
    }

    /// What saving `tensor` keeps alive, for `record(keeps:)`: the tensor, or what its
    /// recomputation reads.
    static func keeps(_ tensor: Tensor) -> [Tensor] { tensor.node?.recomputation?.inputs ?? [tensor] }
}
