import Foundation
import Segmentation
import TensorCore
import Testing

/// The paper's greedy rule written out plainly (Ozdemir et al.'s `max_set_cover` loop): for
/// every remaining candidate, recompute Σ_j min_{s ∈ S_a ∪ {i}} D[s, j] from the full matrix
/// and take the first smallest; O(k K N |S_a|).
func naiveGreedy(_ d: [[Double]], candidates: [Int], k: Int) -> [Int] {
    var chosen: [Int] = []
    while chosen.count < min(k, candidates.count) {
        var best: Int?, bestCost = Double.infinity
        for i in candidates where !chosen.contains(i) {
            let set = chosen + [i]
            var cost = 0.0
            for j in 0..<d.count { cost += set.map { d[$0][j] }.min()! }
            if best == nil || cost < bestCost { best = i; bestCost = cost }
        }
        chosen.append(best!)
    }
    return chosen
}

/// All k-subsets of `items`.
func subsets(_ items: [Int], _ k: Int) -> [[Int]] {
    if k == 0 { return [[]] }
    guard items.count >= k else { return [] }
    let head = items[0], rest = Array(items.dropFirst())
    return subsets(rest, k - 1).map { [head] + $0 } + subsets(rest, k)
}

/// Random descriptors [n, dims] (some all-positive, so cosine similarities vary in sign).
func randomDescriptors(_ n: Int, _ dims: Int, _ generator: RandomGenerator) -> [Float] {
    (0..<(n * dims)).map { _ in Float(generator.normal()) + (generator.uniform() < 0.5 ? 1 : 0) }
}

@Suite struct GreedySetCoverTests {
    @Test func equalsThePlainGreedyRule() throws {
        let generator = RandomGenerator(seed: 11)
        for trial in 0..<6 {
            let n = 20 + trial * 7, dims = 5
            let distances = try abstractionDistances(descriptors: randomDescriptors(n, dims, generator), dims: dims)
            let dense = (0..<n).map { distances.row($0) }
            let candidates = Array(generator.permutation(n).prefix(10))
            let selection = try GreedySetCover.select(candidates: candidates, k: 6, distances: distances)
            #expect(selection.chosen == naiveGreedy(dense, candidates: candidates, k: 6), "trial \(trial)")
            #expect(selection.chosen.count == 6 && Set(selection.chosen).count == 6)
            // The reported coverage is F of the chosen prefix, and it only grows.
            for m in 1...6 {
                let f = GreedySetCover.coverage(of: Array(selection.chosen.prefix(m)), distances: distances)
                #expect(abs(selection.coverage[m - 1] - f) <= 1e-9 * Double(n))
            }
            #expect(zip(selection.coverage, selection.coverage.dropFirst()).allSatisfy { $0 <= $1 })
        }
    }

    /// Nemhauser et al.: greedy F >= (1 − 1/e) max_{|S| = k} F(S), checked by enumerating every k-subset.
    @Test func coversAtLeastOneMinusOneOverEOfTheOptimum() throws {
        let generator = RandomGenerator(seed: 5)
        var worstRatio = Double.infinity
        for _ in 0..<25 {
            let n = 14, k = 3
            // Arbitrary (asymmetric) distances in [0, 1]: the bound holds for any such matrix.
            let dense = (0..<n).map { _ in (0..<n).map { _ in generator.uniform() } }
            let distances = try DenseDistances(dense)
            let candidates = Array(generator.permutation(n).prefix(8))
            let greedy = try GreedySetCover.select(candidates: candidates, k: k, distances: distances)
            let optimum = subsets(candidates, k).map { GreedySetCover.coverage(of: $0, distances: distances) }.max()!
            worstRatio = min(worstRatio, greedy.coverage.last! / optimum)
            #expect(greedy.coverage.last! >= (1 - 1 / exp(1.0)) * optimum - 1e-12)
        }
        #expect(worstRatio <= 1)
    }

    /// Min-max normalisation is a positive affine map: the same slices are picked from raw
    /// cosine similarities turned into 1 − S.
    @Test func normalisationDoesNotChangeThePicks() throws {
        let generator = RandomGenerator(seed: 3)
        let n = 30, dims = 4
        let descriptors = randomDescriptors(n, dims, generator)
        let raw = try CosineSimilarities(descriptors: descriptors, dims: dims)
        let oneMinus = try DenseDistances((0..<n).map { raw.row($0).map { 1 - $0 } })
        let normalised = try abstractionDistances(descriptors: descriptors, dims: dims)
        let candidates = Array(0..<12)
        #expect(try GreedySetCover.select(candidates: candidates, k: 5, distances: oneMinus).chosen
            == GreedySetCover.select(candidates: candidates, k: 5, distances: normalised).chosen)
        // Normalised distances span exactly [0, 1].
        let all = (0..<n).flatMap { normalised.row($0) }
        #expect(abs(all.min()!) <= 1e-12 && abs(all.max()! - 1) <= 1e-12)
    }

    @Test func refusesBadCandidates() throws {
        let distances = try DenseDistances([[0, 1], [1, 0]])
        #expect(throws: SegmentationError.self) { try GreedySetCover.select(candidates: [0, 2], k: 1, distances: distances) }
        #expect(throws: SegmentationError.self) { try GreedySetCover.select(candidates: [1, 1], k: 1, distances: distances) }
        #expect(throws: SegmentationError.self) { try DenseDistances([[0, 1], [1]]) }
        // k above the candidates: all of them.
        #expect(try GreedySetCover.select(candidates: [1, 0], k: 5, distances: distances).chosen.count == 2)
    }
}
