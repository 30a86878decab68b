import Foundation
@testable import Incremental
import Ingest
@testable import Metrics
import Support
import TensorCore
import TestSupport
import Testing
import Training

/// The knowledge pooler is built from the sites' label maps. For the seed's four sites it must
/// be the seed's hand-written pooler (`../shared/methods.md` §1.2, from the seed code's
/// `models/score_fusion_model*.py`), with experts in the order WASE, CAMUS, MedStar, St George's:
///
///     out[0..3]   = z_n3[0..3]                         contrast views: St George's only
///     out[4]  A2C = max(z_b[0], z_n1[0], z_n2[0])
///     out[5]  A3C = max(z_b[1], z_n2[1])
///     out[6]  A4C = max(z_b[2], z_n1[1], z_n2[2])
///     out[7..11]  = max(z_b[k], z_n2[k]), k = 3..7     A5C, PLAX, PLAX-AV, PSAX-AV, PSAX-PM
///     out[12..14] = z_n2[8..10]                        RV, SC, SC-IVC: MedStar only
@Suite struct KnowledgePoolerTests {
    static let seedSites = ["wase", "camus", "medstar", "stgeorges"]

    /// The seed's pooler, written out from the table above: pooled output -> (expert, local index).
    static let seedSources: [[(expert: Int, index: Int)]] =
        (0...3).map { [(3, $0)] }
        + [[(0, 0), (1, 0), (2, 0)], [(0, 1), (2, 1)], [(0, 2), (1, 1), (2, 2)]]
        + (3...7).map { [(0, $0), (2, $0)] }
        + (8...10).map { [(2, $0)] }

    /// Each site's classes as conversion writes them to dataset.json (`site_classes`): the
    /// label map's targets in canonical order.
    static func siteClasses() throws -> (classes: [[String]], taxonomy: Taxonomy) {
        let taxonomy = try Taxonomy.load(from: TestPaths.converters.appendingPathComponent("taxonomy/echo-views.yaml"))
        let classes = try seedSites.map { site -> [String] in
            let config = try ConfigLoader.load(EchoConverterConfig.self, from: TestPaths.converters.appendingPathComponent("\(site).yaml"))
            return try LabelMap(raw: config.labelMap, taxonomy: taxonomy).targetClasses
        }
        return (classes, taxonomy)
    }

    static func pooler() throws -> KnowledgePooler {
        let (classes, taxonomy) = try siteClasses()
        return try KnowledgePooler(expertClasses: classes, taxonomy: Dictionary(uniqueKeysWithValues: taxonomy.classes.map { ($0.name, $0.index) }))
    }

    @Test func seedSitesHaveTheSeedsClassCounts() throws {
        // methods.md §1.2: WASE 8, CAMUS 2, MedStar 11, St George's 4.
        #expect(try Self.siteClasses().classes.map(\.count) == [8, 2, 11, 4])
    }

    @Test func poolerFromLabelMapsIsTheSeedsPooler() throws {
        let pooler = try Self.pooler()
        #expect(pooler.canonicalIndices == Array(0..<15), "the four sites together cover the 15-class space in canonical order")
        #expect(pooler.expertClassCounts == [8, 2, 11, 4])
        #expect(pooler.sources.count == Self.seedSources.count)
        for (k, expected) in Self.seedSources.enumerated() {
            let got = pooler.sources[k].map { ($0.expert, $0.index) }
            #expect(got.map(\.0) == expected.map(\.expert) && got.map(\.1) == expected.map(\.index),
                    "output \(k) (\(pooler.classes[k])): \(got) vs the seed's \(expected)")
        }
    }

    /// Pooling numbers: the seed's formulas evaluated directly on the four experts' scores.
    @Test func poolingMatchesTheSeedsFormulas() throws {
        let pooler = try Self.pooler()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let b = (0..<8).map { _ in Float.random(in: -3...3, using: &generator) }
            let n1 = (0..<2).map { _ in Float.random(in: -3...3, using: &generator) }
            let n2 = (0..<11).map { _ in Float.random(in: -3...3, using: &generator) }
            let n3 = (0..<4).map { _ in Float.random(in: -3...3, using: &generator) }
            var expected = Array(n3)
            expected.append(max(b[0], n1[0], n2[0]))
            expected.append(max(b[1], n2[1]))
            expected.append(max(b[2], n1[1], n2[2]))
            for k in 3...7 { expected.append(max(b[k], n2[k])) }
            for k in 8...10 { expected.append(n2[k]) }
            let scores = b + n1 + n2 + n3
            #expect(pooler.pool(scores).values == expected)
            // The differentiable tensor version agrees with the array version.
            let pooled = pooler.pool(Tensor(scores, shape: [1, scores.count])).floats()
            #expect(pooled == expected)
        }
    }

    /// The gradient of a pooled output reaches only the expert that supplied the maximum.
    @Test func poolGradientReachesTheWinner() throws {
        let pooler = try KnowledgePooler(expertClasses: [["A2C", "A4C"], ["A2C"]], taxonomy: ["A2C": 4, "A4C": 6])
        let scores = Tensor([1, 5, 3] as [Float], shape: [1, 3], requiresGrad: true)
        let pooled = pooler.pool(scores)
        #expect(pooled.floats() == [3, 5])
        pooled.sum().backward()
        #expect(scores.grad?.floats() == [0, 1, 1])
    }

    @Test func unknownClassIsRejected() {
        #expect(throws: IncrementalError.self) { try KnowledgePooler(expertClasses: [["A2C", "NOPE"]], taxonomy: ["A2C": 0]) }
    }
}
