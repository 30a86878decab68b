import DataLoading
import Dispatch
import NeuralNet
import TensorCore

/// One epoch's numbers.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double?
    public var seconds: Double
}

/// What training produced besides the weights.
public struct TrainingOutcome: Codable, Sendable {
    public var bestEpoch: Int
    public var bestValidationAccuracy: Double?
    public var history: [EpochRecord]
    public var seconds: Double
}

/// Trains a classifier with cross-entropy and Adam, keeping the weights of the epoch with the
/// best validation accuracy (ties: the later epoch, as the seed code's `>=`).
public struct ClassifierTrainer {
    public var settings: TrainingSettings
    /// Called after every epoch.
    public var onEpoch: (EpochRecord) -> Void = { _ in }
    /// Called after every batch with (batch, batches in the epoch).
    public var onBatch: (Int, Int) -> Void = { _, _ in }

    public init(settings: TrainingSettings) { self.settings = settings }

    public func train(_ model: Module, on train: SampleSource, validation: SampleSource?) throws -> TrainingOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        let optimizer = Adam(model.parameters(), learningRate: settings.learningRate, weightDecay: settings.weightDecay)
        let loader = DataLoader(source: train, batchSize: settings.batchSize, shuffle: true, seed: settings.seed,
                                augmentation: settings.augment ? .echoViews : nil)
        var history: [EpochRecord] = []
        var best: (epoch: Int, accuracy: Double?, state: [Tensor])? = nil
        for epoch in 0..<settings.epochs {
            let epochStart = DispatchTime.now().uptimeNanoseconds
            model.train()
            var lossSum = 0.0, correct = 0, seen = 0, batchIndex = 0
            try loader.forEachBatch(epoch: epoch) { batch in
                optimizer.zeroGrad()
                let logits = model(batch.images)
                let loss = crossEntropy(logits, targets: batch.labels)
                loss.backward()
                optimizer.step()
                lossSum += loss.item() * Double(batch.labels.count)
                correct += zip(logits.argmax(axis: 1), batch.labels).filter { $0 == $1 }.count
                seen += batch.labels.count
                batchIndex += 1
                onBatch(batchIndex, loader.batchCount)
            }
            let validationAccuracy = try validation.map { try Evaluate.accuracy(model, on: $0) }
            let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                                     validationAccuracy: validationAccuracy,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - epochStart) / 1e9)
            history.append(record)
            onEpoch(record)
            let score = validationAccuracy ?? record.trainAccuracy
            if best == nil || score >= (best!.accuracy ?? -1) {
                best = (epoch, score, Self.snapshot(model))
            } else if let patience = settings.patience, epoch - best!.epoch >= patience {
                break
            }
        }
        if let best { Self.restore(model, best.state) }
        model.eval()
        return TrainingOutcome(bestEpoch: best?.epoch ?? 0, bestValidationAccuracy: validation == nil ? nil : best?.accuracy,
                               history: history, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    static func snapshot(_ model: Module) -> [Tensor] {
        model.parameters().map { $0.value.clone() } + model.namedBuffers().map { $0.1.value.clone() }
    }

    static func restore(_ model: Module, _ state: [Tensor]) {
        let targets = model.parameters().map(\.value) + model.namedBuffers().map(\.1.value)
        for (target, saved) in zip(targets, state) { target.copyElements(from: saved) }
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
