/// Greedy maximum set cover (Yang et al. 2017, "Suggestive Annotation"; the `max_set_cover`
/// step of Ozdemir et al. 2018's AeiSeg / CoRiSeg exemplar selection).
///
/// With similarity sim = 1 − D, the coverage of a chosen set S_a over all N slices S_u is
///   F(S_a) = Σ_{j ∈ S_u} max_{s ∈ S_a} sim(s, j)     (F(∅) = 0),
/// and the greedy rule adds, k times, the candidate of S_c \ S_a that maximises F(S_a ∪ {i}),
/// i.e. minimises Σ_j min_{s ∈ S_a ∪ {i}} D[s, j] (the first pick minimises Σ_j D[i, j]).
/// Ties go to the candidate listed first. F is monotone and submodular for D in [0, 1], so the
/// greedy set covers at least (1 − 1/e) of the best k-subset's coverage (Nemhauser et al. 1978).
///
/// Cost: the rows of the K candidates are computed once and kept (K x N values, never the
/// N x N matrix); each of the k rounds scans them against the running vector
/// m_j = min_{s ∈ S_a} D[s, j], O(k K N) in all.
public enum GreedySetCover {
    public struct Selection: Sendable, Equatable {
        /// Chosen slice indices, in the order picked.
        public var chosen: [Int]
        /// F of the chosen set after each pick.
        public var coverage: [Double]
    }

    /// Chooses min(k, |candidates|) of `candidates` (slice indices into `distances`).
    public static func select(candidates: [Int], k: Int, distances: some DistanceRows) throws -> Selection {
        let n = distances.count
        if let bad = candidates.first(where: { $0 < 0 || $0 >= n }) {
            throw SegmentationError.invalid("set cover candidate \(bad) is not a slice index in 0..<\(n)")
        }
        guard Set(candidates).count == candidates.count else { throw SegmentationError.invalid("set cover candidates repeat a slice") }
        guard k >= 0 else { throw SegmentationError.invalid("cannot choose \(k) representatives") }
        return try run(candidates: candidates, k: k, distances: distances)
    }

    private static func run(candidates: [Int], k: Int, distances: some DistanceRows) throws -> Selection {
        let n = distances.count
        let rows = candidates.map { distances.row($0) }
        if let short = rows.first(where: { $0.count != n }) {
            throw SegmentationError.invalid("a distance row has \(short.count) values for \(n) slices")
        }
        var nearest = [Double](repeating: .infinity, count: n)
        var taken = [Bool](repeating: false, count: candidates.count)
        var selection = Selection(chosen: [], coverage: [])
        for _ in 0..<min(k, candidates.count) {
            var best = -1, bestCost = Double.infinity
            for c in candidates.indices where !taken[c] {
                var cost = 0.0
                rows[c].withUnsafeBufferPointer { row in
                    for j in 0..<n { cost += Swift.min(nearest[j], row[j]) }
                }
                if best < 0 || cost < bestCost { best = c; bestCost = cost }
            }
            taken[best] = true
            for j in 0..<n { nearest[j] = Swift.min(nearest[j], rows[best][j]) }
            selection.chosen.append(candidates[best])
            selection.coverage.append(Double(n) - bestCost)
        }
        return selection
    }

    /// F(S) = Σ_j max_{s ∈ S} (1 − D[s, j]) of any set (0 for the empty set).
    public static func coverage(of chosen: [Int], distances: some DistanceRows) -> Double {
        guard !chosen.isEmpty else { return 0 }
        var nearest = [Double](repeating: .infinity, count: distances.count)
        for s in chosen {
            for (j, d) in distances.row(s).enumerated() { nearest[j] = Swift.min(nearest[j], d) }
        }
        return nearest.reduce(0) { $0 + (1 - $1) }
    }
}
