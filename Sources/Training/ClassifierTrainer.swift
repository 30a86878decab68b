import DataLoading
import NeuralNet
import TensorCore

/// Trains a classifier with cross-entropy and Adam on a seeded, augmented loader, through the
/// training loop (best validation epoch kept, early stopping, resume).
public struct ClassifierTrainer {
    public var settings: TrainingSettings
    /// Called after every epoch (also for epochs a resumed run restored).
    public var onEpoch: (EpochRecord) -> Void = { _ in }
    /// Called after every batch with (batch, batches in the epoch).
    public var onBatch: (Int, Int) -> Void = { _, _ in }
    /// Where the per-epoch checkpoint lives (nil: no resume).
    public var resume: ResumeCheckpoint?
    /// Called when training continues from the checkpoint, with the epochs already done.
    public var onResume: (Int) -> Void = { _ in }

    public init(settings: TrainingSettings) { self.settings = settings }

    public func train(_ model: Module, on train: SampleSource, validation: SampleSource?) throws -> TrainingOutcome {
        let optimizer = Adam(model.parameters(), learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        let loader = DataLoader(source: train, batchSize: settings.batchSize, shuffle: true, seed: settings.seed,
                                augmentation: settings.augment ? .echoViews : nil)
        let loop = TrainingLoop(model: model, optimizer: optimizer, batches: loader, epochs: settings.epochs) { batch in
            StepResult.crossEntropy(model(batch.images), targets: batch.labels)
        }
        loop.patience = settings.patience
        loop.validate = validation.map { source in { try Evaluate.accuracy(model, on: source) } }
        loop.resume = resume
        loop.onBatch = onBatch
        loop.onResume = onResume
        loop.onEpoch = { record, _ in onEpoch(record) }
        return try loop.run()
    }
}

/// Evaluation helpers.
public enum Evaluate {
    /// Logits of every sample, in the source's order, in evaluation mode and without gradients.
    public static func logits(_ model: Module, on source: SampleSource, batchSize: Int = 128) throws -> (logits: [[Float]], labels: [Int]) {
        model.eval()
        let loader = DataLoader(source: source, batchSize: batchSize, shuffle: false)
        var logits: [[Float]] = [], labels: [Int] = []
        try loader.forEachBatch(epoch: 0) { batch in
            let out = Autograd.withNoGrad { model(batch.images) }
            let classes = out.shape[1], values = out.floats()
            for i in 0..<batch.labels.count { logits.append(Array(values[(i * classes)..<((i + 1) * classes)])) }
            labels += batch.labels
        }
        return (logits, labels)
    }

    public static func accuracy(_ model: Module, on source: SampleSource) throws -> Double {
        let (logits, labels) = try self.logits(model, on: source)
        let correct = zip(logits, labels).filter { argmax($0.0) == $0.1 }.count
        return Double(correct) / Double(max(labels.count, 1))
    }

    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for k in values.indices where values[k] > values[best] { best = k }
        return best
    }
}
