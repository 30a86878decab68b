import Foundation
import NeuralNet
import TensorCore
import Training

/// One training batch: images and labels.
public struct LabelledBatch {
    public var images: Tensor
    public var labels: [Int]
}

/// The batches of a task's epochs over one image set: a seeded permutation per epoch, or, with
/// per-sample `weights`, `samplesPerEpoch` draws with replacement in proportion to the weights
/// (torch's WeightedRandomSampler, as the reference mixes real and synthetic images). The
/// batches of an epoch depend on (seed, epoch) only.
public struct SampledBatches: EpochBatches {
    public let set: ImageSet
    public let batchSize: Int
    public let seed: UInt64
    public let weights: [Double]?
    public let samplesPerEpoch: Int

    public init(set: ImageSet, batchSize: Int, seed: UInt64, weights: [Double]? = nil, samplesPerEpoch: Int? = nil) {
        self.set = set
        self.batchSize = batchSize
        self.seed = seed
        self.weights = weights
        self.samplesPerEpoch = samplesPerEpoch ?? set.count
    }

    public var batchesPerEpoch: Int { (samplesPerEpoch + batchSize - 1) / batchSize }

    public func order(epoch: Int) -> [Int] {
        let generator = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        guard let weights else { return generator.permutation(set.count) }
        var cumulative: [Double] = []
        var total = 0.0
        for w in weights { total += w; cumulative.append(total) }
        return (0..<samplesPerEpoch).map { _ in
            let u = generator.uniform() * total
            var low = 0, high = cumulative.count - 1
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] > u { high = mid } else { low = mid + 1 }
            }
            return low
        }
    }

    public func forEachBatch(epoch: Int, _ body: (LabelledBatch) throws -> Void) throws {
        let order = order(epoch: epoch)
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let indices = Array(order[start..<min(start + batchSize, order.count)])
            // A batch of one breaks batch statistics (BatchNorm's variance): fold it into the previous.
            if indices.count < 2 && start > 0 { continue }
            try body(LabelledBatch(images: set.batch(indices), labels: indices.map { set.labels[$0] }))
        }
    }
}

/// How a task's training ran.
public struct TaskTraining: Codable, Sendable {
    public var epochs: Int
    public var bestEpoch: Int
    public var bestValidationAccuracy: Double?
    public var seconds: Double
}

/// Trains one task with MedCIL's one epoch loop (`TrainingLoop`): SGD (momentum 0, no weight
/// decay, as the reference), accuracy on `validation` (the task's model-selection images) after each epoch,
/// the best epoch's weights kept, and ReduceLROnPlateau on that accuracy (mode from the config;
/// the reference's `min` reproduced by default). A Continual Normalization net also keeps the
/// per-sample group statistics (`GroupStatistics`) recorded up to the end of its best epoch.
public enum TaskTrainer {
    public static func train(model: IncrementalNet, batches: SampledBatches, epochs: Int, settings: SequenceConfig.Training,
                             validation: ImageSet, onEpochEnd: @escaping () -> Void = {},
                             loss: @escaping (LabelledBatch) throws -> StepResult) throws -> TaskTraining {
        let optimizer = SGD(model.net.trainableParameters(), learningRate: settings.learningRate)
        let loop = TrainingLoop(model: model.net, optimizer: optimizer, batches: batches, epochs: epochs, loss: loss)
        var plateau = PlateauSchedule(base: settings.learningRate, mode: settings.plateauMode == "max" ? .max : .min,
                                      factor: settings.plateauFactor, patience: settings.plateauPatience)
        var accuracy = 0.0
        let recorder = model.norm == .continual ? GroupStatisticsRecorder(net: model.net, initial: model.groupStatistics) : nil
        defer { recorder?.remove() }
        let validationPredict: () -> [Int] = { model.predict(validation) }
        loop.afterEpoch = [{ _ in
            onEpochEnd()
            let predicted = validationPredict()
            accuracy = validation.count == 0 ? 0 : Double(zip(predicted, validation.labels).filter { $0 == $1 }.count) / Double(validation.count)
            plateau.step(metric: accuracy)
            optimizer.setLearningRate(plateau.learningRate)
            model.net.train()
        }]
        loop.validate = { accuracy }
        // The statistics recorded up to the epoch whose weights the loop keeps.
        if let recorder { loop.onNewBest = { _ in model.groupStatistics = recorder.statistics } }
        let outcome = try loop.run()
        return TaskTraining(epochs: epochs, bestEpoch: outcome.bestEpoch, bestValidationAccuracy: outcome.bestValidationAccuracy, seconds: outcome.seconds)
    }

    /// Class weights w_c = max_k n_k / n_c over the labels present (1 for absent classes).
    public static func classWeights(_ labels: [Int], classes: Int) -> [Double] {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[y] += 1 }
        let most = Double(counts.max() ?? 1)
        return counts.map { $0 == 0 ? 1 : most / Double($0) }
    }
}
