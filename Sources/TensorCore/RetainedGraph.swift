/// What a recorded graph keeps alive, for memory reports (`medcil bench train --memory`).
///
/// Read-only: walks the graph's nodes from a tensor (normally the loss, before backward) and
/// lists every tensor some backward function keeps (as declared by its op's `record(keeps:)`),
/// each storage counted once, plus the tensor itself. Edges hold no tensors, so an op's input
/// that its backward does not read is not here: it was freed once nothing else needed it.
/// What a backward function keeps beyond tensors (masks, indices, statistics as Swift arrays)
/// is not visible here; a report gets it as the rest of `BufferPool.live`.
public struct RetainedTensor: Sendable {
    /// The op that computed the tensor ("leaf" for inputs and parameters).
    public let producer: String
    /// The ops whose backward functions keep it (one entry per keeping op, in graph order).
    public let holders: [String]
    /// Bytes of its storage (a view counts its whole storage, once).
    public let bytes: Int
    /// Whether it requires gradients without being computed (a parameter or optimised input).
    public let isTrainableLeaf: Bool
}

extension Tensor {
    /// The tensors this tensor's recorded graph keeps (this tensor included), one per storage.
    public func retainedGraph() -> [RetainedTensor] {
        struct Entry { let storage: Storage; let producer: String; let isTrainableLeaf: Bool; var holders: [String] }
        var entries: [ObjectIdentifier: Entry] = [:]
        var order: [ObjectIdentifier] = []
        func note(_ storage: Storage, producer: String, isTrainableLeaf: Bool, holder: String?) {
            let key = ObjectIdentifier(storage)
            if entries[key] == nil {
                order.append(key)
                entries[key] = Entry(storage: storage, producer: producer, isTrainableLeaf: isTrainableLeaf, holders: [])
            }
            if let holder { entries[key]!.holders.append(holder) }
        }
        note(storage, producer: node?.name ?? "leaf", isTrainableLeaf: node == nil && requiresGrad, holder: nil)
        var visited = Set<ObjectIdentifier>()
        var stack = node.map { [$0] } ?? []
        while let node = stack.popLast() {
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            for kept in node.kept {
                guard let storage = kept.storage else { continue }
                note(storage, producer: kept.producer, isTrainableLeaf: kept.isTrainableLeaf, holder: node.name)
            }
            stack.append(contentsOf: node.edges.compactMap(\.node))
        }
        return order.map { key in
            let entry = entries[key]!
            return RetainedTensor(producer: entry.producer, holders: entry.holders, bytes: entry.storage.byteCount,
                                  isTrainableLeaf: entry.isTrainableLeaf)
        }
    }
}
