import ClassIncremental
import Foundation
import TestSupport

/// A sequence small enough for tests: digits (fixtures/digits-shards) classes 0-3 in two tasks
/// of two, 16x16 inputs, two epochs, one synthetic batch of 8 images from 5 Adam steps.
enum TinySequence {
    static var fixture: URL { TestPaths.root.appendingPathComponent("fixtures/digits-shards") }

    static func config(methods: [String]) -> SequenceConfig {
        var config = SequenceConfig()
        config.dataset = .init(kind: "shards", path: fixture.path)
        config.classOrder = [0, 1, 2, 3]
        config.taskSizes = [2, 2]
        config.imageSize = 16
        config.padding = 0
        config.methods = methods
        config.training.epochs = 2
        config.training.baseEpochs = 2
        config.synthesis.iterations = 5
        config.synthesis.warmup = 2
        config.synthesis.batches = [1]
        config.synthesis.batchSize = 8
        config.exemplarsPerClass = 5
        config.workers = 2
        return config
    }

    static func data(_ config: SequenceConfig) throws -> SequenceData {
        try SequenceData(splits: try DatasetSplits.shards(fixture), config: config)
    }
}
