import TensorCore

/// The knowledge pooler of the weighted-experts method: the global output space is the union
/// of the experts' classes (canonical names, ordered by canonical index), and a class that
/// several experts know takes the largest of their scores. Built from the experts' class
/// lists, which come from each site's label map, never written by hand.
public struct KnowledgePooler: Codable, Sendable, Equatable {
    /// Canonical class names of the pooled outputs, in order.
    public let classes: [String]
    /// Canonical index of each pooled output.
    public let canonicalIndices: [Int]
    /// For each pooled output: the (expert, position in the expert's outputs) that know it.
    public let sources: [[Source]]
    /// Number of outputs of each expert.
    public let expertClassCounts: [Int]

    public struct Source: Codable, Sendable, Equatable {
        public let expert: Int
        public let index: Int
    }

    /// - Parameters:
    ///   - expertClasses: each expert's output classes (canonical names), in output order.
    ///   - taxonomy: canonical name -> index.
    public init(expertClasses: [[String]], taxonomy: [String: Int]) throws {
        var union: [String: [Source]] = [:]
        for (e, classes) in expertClasses.enumerated() {
            for (k, name) in classes.enumerated() {
                guard taxonomy[name] != nil else { throw IncrementalError.invalid("class '\(name)' of expert \(e) is not in the taxonomy") }
                union[name, default: []].append(Source(expert: e, index: k))
            }
        }
        let ordered = union.keys.sorted { taxonomy[$0]! < taxonomy[$1]! }
        classes = ordered
        canonicalIndices = ordered.map { taxonomy[$0]! }
        sources = ordered.map { union[$0]! }
        expertClassCounts = expertClasses.map(\.count)
    }

    /// Position of each expert's first logit in the concatenated logits.
    public var expertOffsets: [Int] {
        var offsets = [0]
        for count in expertClassCounts.dropLast() { offsets.append(offsets.last! + count) }
        return offsets
    }

    /// Pools per-expert scores [N, sum C_e] (concatenated in expert order) into [N, G] by
    /// taking the maximum over the experts that know each class (differentiable).
    public func pool(_ scores: Tensor) -> Tensor {
        let offsets = expertOffsets
        let columns = sources.map { list -> Tensor in
            let picked = list.map { scores.slice(axis: 1, (offsets[$0.expert] + $0.index)..<(offsets[$0.expert] + $0.index + 1)) }
            return picked.dropFirst().reduce(picked[0]) { maximum($0, $1) }
        }
        return Tensor.concat(columns, axis: 1)
    }

    /// The same on plain arrays (one sample's concatenated scores); also returns, per pooled
    /// class, which expert supplied the maximum.
    public func pool(_ scores: [Float]) -> (values: [Float], winners: [Int]) {
        let offsets = expertOffsets
        var values: [Float] = [], winners: [Int] = []
        for list in sources {
            var best = -Float.infinity, winner = list[0].expert
            for source in list where scores[offsets[source.expert] + source.index] > best {
                best = scores[offsets[source.expert] + source.index]
                winner = source.expert
            }
            values.append(best)
            winners.append(winner)
        }
        return (values, winners)
    }

    /// Pooled index of a canonical class index, if any expert knows it.
    public func pooledIndex(ofCanonical index: Int) -> Int? { canonicalIndices.firstIndex(of: index) }
}
