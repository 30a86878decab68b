import Foundation
import NeuralNet
@testable import Segmentation
import TensorCore
import Testing

/// The memory a model carries into its next increment stays within its bound when earlier
/// exemplars and new picks together exceed it, keeps the earlier ones first (rank by rank),
/// and holds soft targets of every head of the model, recomputed.
@Suite struct ExemplarBuilderTests {
    static func slices(_ n: Int, volume: String, seed: UInt64) -> SliceSet {
        let g = RandomGenerator(seed: seed)
        let pixels = (0..<(n * 16 * 16)).map { _ in Float(g.uniform(-1, 1)) }
        let masks = (0..<n).map { i in (0..<256).map { $0 % 16 < i + 2 ? 1 : 0 } }
        return SliceSet(site: "s\(seed)", split: "train", height: 16, width: 16, structures: ["thing\(seed)"],
                        references: (0..<n).map { SliceReference(volume: volume, slice: $0) }, pixels: pixels, masks: masks,
                        spacing: [volume: [3, 1, 1]])
    }

    @Test func memoryNeverExceedsItsBound() throws {
        let model = smallUNet(seed: 3, heads: [2, 2])
        var settings = SegmentationSettings.quick
        settings.exemplars = ExemplarSettings(capacity: 5, representatives: 4, candidates: 6, monteCarloPasses: 2)
        let builder = ExemplarBuilder(settings: settings, scratch: FileManager.default.temporaryDirectory.appendingPathComponent("eb-\(getpid())"))
        let old = Self.slices(6, volume: "aaaaaaaaaaaa", seed: 1), new = Self.slices(8, volume: "bbbbbbbbbbbb", seed: 2)
        let (first, _) = try builder.build(rule: .random, model: model, head: 0, data: old, previous: nil)
        #expect(first.count == 4)
        for rule in ExemplarRule.allCases {
            let (memory, _) = try builder.build(rule: rule, model: model, head: 1, data: new, previous: first)
            #expect(memory.count == 5 && memory.capacity == 5, "\(rule): \(memory.count)")
            // Rank by rank: the first old pick, the first new pick, the second old pick, ...
            let volumes = memory.references.map(\.volume)
            #expect(volumes == ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "aaaaaaaaaaaa"], "\(rule): \(volumes)")
            #expect(memory.softTargetClasses == [2, 2])
            // Soft targets are the model's current softmax on the kept image.
            let e = memory.exemplars[1]
            let expected = try SoftTargets.compute(model: model, head: 1, images: Tensor(e.image, shape: [1, 1, 16, 16])).floats()
            #expect(e.softTargets[1] == expected)
        }
    }

    @Test func replayBatchesFollowTheRatioAndDependOnTheEpochOnly() throws {
        let data = Self.slices(8, volume: "cccccccccccc", seed: 4)
        var memory = try ExemplarMemory(capacity: 3, imageShape: [1, 16, 16], softTargetClasses: [2])
        for k in 0..<3 {
            try memory.insert(Exemplar(reference: SliceReference(volume: "dddddddddddd", slice: k), structures: ["x"], image: data.image(k),
                                       mask: data.masks[k], softTargets: [[Float](repeating: 0.5, count: 512)]))
        }
        let soft = Tensor([Float](repeating: 0.5, count: 8 * 2 * 256), shape: [8, 2, 16, 16])
        let batches = SegmentationBatches(data: data, softTargets: [soft], replay: ReplaySet(memory: memory), replayRatio: 0.5,
                                          batchSize: 2, seed: 7, augment: true)
        var kinds: [SegmentationLosses.BatchKind] = [], images: [[Float]] = []
        for epoch in 0..<200 { for step in batches.plan(epoch: epoch) { kinds.append(step.kind) } }
        let replayShare = Double(kinds.filter { $0 == .exemplar }.count) / Double(kinds.count)
        // Each step is a replay step with probability 0.5 (a geometric run before each of the
        // 4 new-data batches): over 200 epochs the share is 0.5 within a few percent.
        #expect(abs(replayShare - 0.5) < 0.05, "\(replayShare)")
        #expect(kinds.filter { $0 == .newData }.count == 200 * 4)
        for _ in 0..<2 { try batches.forEachBatch(epoch: 3) { images.append($0.images.floats()) } }
        #expect(Array(images[..<(images.count / 2)]) == Array(images[(images.count / 2)...]))
    }
}
