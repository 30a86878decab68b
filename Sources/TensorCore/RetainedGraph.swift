/// What a recorded graph keeps alive, for memory reports (`medcil bench train --memory`).
///
/// Read-only: walks the recorded inputs from a tensor (normally the loss, before backward) and
/// lists every tensor the graph holds as an input of some op, each storage counted once. Tensors
/// that backward closures capture without listing them as inputs (statistics, masks, an op's own
/// output) are not visible here; a report gets them as the rest of `BufferPool.live`.
public struct RetainedTensor: Sendable {
    /// The op that computed the tensor ("leaf" for inputs and parameters).
    public let producer: String
    /// The ops that hold it as an input (one entry per holding op, in graph order).
    public let holders: [String]
    /// Bytes of its storage (a view counts its whole storage, once).
    public let bytes: Int
    /// Whether it requires gradients without being computed (a parameter or optimised input).
    public let isTrainableLeaf: Bool
}

extension Tensor {
    /// The tensors this tensor's recorded graph holds (this tensor included), one per storage.
    public func retainedGraph() -> [RetainedTensor] {
        var holders: [ObjectIdentifier: [String]] = [:]
        var tensors: [ObjectIdentifier: Tensor] = [:]
        var order: [ObjectIdentifier] = []
        var visited = Set<ObjectIdentifier>()
        var stack = [self]
        // A storage met again through a view's input is named after the tensor met last: the
        // walk runs from the output back, so that is the one that made the storage, not its view.
        func note(_ tensor: Tensor) {
            let key = ObjectIdentifier(tensor.storage)
            if tensors.updateValue(tensor, forKey: key) == nil { order.append(key) }
        }
        note(self)
        while let tensor = stack.popLast() {
            guard visited.insert(ObjectIdentifier(tensor)).inserted, let node = tensor.node else { continue }
            for input in node.inputs {
                note(input)
                holders[ObjectIdentifier(input.storage), default: []].append(node.name)
                stack.append(input)
            }
        }
        return order.map { key in
            let tensor = tensors[key]!
            return RetainedTensor(producer: tensor.node?.name ?? "leaf", holders: holders[key] ?? [], bytes: tensor.storage.byteCount,
                                  isTrainableLeaf: tensor.node == nil && tensor.requiresGrad)
        }
    }
}
