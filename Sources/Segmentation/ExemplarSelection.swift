import NeuralNet
import TensorCore

/// AeiSeg / CoRiSeg exemplar selection after training on increment i (Ozdemir et al. 2018,
/// §2.2; `pre_inc_train.py` of the reference code), per old structure c:
/// 1. u(x, c) by MC dropout over the structure's head (T passes);
/// 2. S_c = the k_c slices containing c with the lowest u;
/// 3. S_r = k_r representatives of S_c by greedy maximum set cover over all N training slices
///    under the given distance (abstraction-layer cosine for AeiSeg, content for CoRiSeg).
/// The union of the S_r is then bounded by `ExemplarMemory.merge`.
public enum ExemplarSelection {
    /// One structure to keep: its name, the head (and class of that head) that segments it,
    /// and which training slices contain it.
    public struct Structure: Sendable {
        public var name: String
        public var head: Int
        public var label: Int
        public var contains: [Bool]

        public init(name: String, head: Int, label: Int, contains: [Bool]) {
            self.name = name
            self.head = head
            self.label = label
            self.contains = contains
        }
    }

    public struct Picks: Sendable, Equatable {
        public var structure: String
        /// S_c, most certain first.
        public var candidates: [Int]
        /// S_r in pick order, and the coverage after each pick.
        public var representatives: [Int]
        public var coverage: [Double]
    }

    /// Selections for every structure over the training slices `images` [N, C, H, W].
    public static func select(model: UNet, images: Tensor, structures: [Structure], distances: some DistanceRows,
                              settings: ExemplarSettings) throws -> [Picks] {
        let settings = try settings.validated()
        let n = images.shape[0]
        guard distances.count == n else { throw SegmentationError.invalid("a distance over \(distances.count) slices for \(n) training slices") }
        let monteCarlo = MonteCarloDropout(passes: settings.monteCarloPasses)
        var byHead: [Int: [[Double]]] = [:]
        return try structures.map { structure in
            guard structure.contains.count == n else {
                throw SegmentationError.invalid("\(structure.name): \(structure.contains.count) containment flags for \(n) slices")
            }
            if byHead[structure.head] == nil { byHead[structure.head] = try monteCarlo.uncertainties(model: model, head: structure.head, images: images) }
            let u = byHead[structure.head]!
            guard u.first.map({ structure.label >= 0 && structure.label < $0.count }) ?? false else {
                throw SegmentationError.invalid("\(structure.name): head \(structure.head) has no class \(structure.label)")
            }
            let candidates = try MonteCarloDropout.mostCertain(uncertainty: u.map { $0[structure.label] }, contains: structure.contains,
                                                               k: settings.candidates)
            let cover = try GreedySetCover.select(candidates: candidates, k: settings.representatives, distances: distances)
            return Picks(structure: structure.name, candidates: candidates, representatives: cover.chosen, coverage: cover.coverage)
        }
    }
}
