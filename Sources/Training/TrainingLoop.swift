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

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationAccuracy: Double?, seconds: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy; self.seconds = seconds
    }
}

/// What training produced besides the weights.
public struct TrainingOutcome: Codable, Sendable {
    public var bestEpoch: Int
    public var bestValidationAccuracy: Double?
    public var history: [EpochRecord]
    public var seconds: Double

    public init(bestEpoch: Int, bestValidationAccuracy: Double?, history: [EpochRecord], seconds: Double) {
        self.bestEpoch = bestEpoch; self.bestValidationAccuracy = bestValidationAccuracy; self.history = history; self.seconds = seconds
    }
}

/// Batches that a training loop walks, epoch by epoch. The batches of an epoch must depend on
/// the epoch number alone (a seeded order, augmentation drawn from (seed, epoch, sample)), so
/// that a run resumed at epoch k sees exactly the batches an uninterrupted run saw.
public protocol EpochBatches {
    associatedtype Batch
    var batchesPerEpoch: Int { get }
    func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws
}

extension DataLoader: EpochBatches {
    public var batchesPerEpoch: Int { batchCount }
}

/// What one optimisation step reports: the scalar loss to differentiate, how many samples the
/// batch held and how many of them the model got right (for the epoch's train accuracy).
public struct StepResult {
    public var loss: Tensor
    public var samples: Int
    public var correct: Int

    public init(loss: Tensor, samples: Int, correct: Int) {
        self.loss = loss; self.samples = samples; self.correct = correct
    }

    /// Cross-entropy of `logits` [N, C] against `targets`, with the argmax counted as the
    /// prediction: the loss of every classifier MedCIL trains.
    public static func crossEntropy(_ logits: Tensor, targets: [Int]) -> StepResult {
        StepResult(loss: TensorCore.crossEntropy(logits, targets: targets), samples: targets.count,
                   correct: zip(logits.argmax(axis: 1), targets).filter { $0 == $1 }.count)
    }
}

/// The one epoch loop of MedCIL. Each epoch: the model in training mode, every batch through
/// the loss closure, backward, an optimizer step; then the validation score (or, without
/// validation, the train accuracy). The weights of the epoch with the best score are kept
/// (ties: the later epoch, as the reference code's `>=`), training stops after `patience`
/// epochs without a better score, and at the end the best weights are restored and the model
/// is put in evaluation mode.
///
/// With a `resume` folder the loop saves, after every completed epoch, the model, the best
/// weights so far, the optimizer state, the dropout streams and the history in one checkpoint;
/// a later run with the same folder starts at the next epoch and ends bit-identical to an
/// uninterrupted run (batches depend on the epoch only, see `EpochBatches`).
public final class TrainingLoop<Batches: EpochBatches> {
    public let model: Module
    public let optimizer: Optimizer
    public let batches: Batches
    public let epochs: Int
    /// Stop after this many epochs without a better score (nil: never).
    public var patience: Int?
    /// The loss of one batch, composed from plain loss functions by the trainer.
    public var loss: (Batches.Batch) throws -> StepResult
    /// The validation score after an epoch (higher is better); nil: the train accuracy counts.
    public var validate: (() throws -> Double)?
    /// The learning rate of each epoch (nil: the optimizer's own rate throughout). A function
    /// of the epoch, so a resumed run needs no scheduler state.
    public var learningRate: ((Int) -> Double)?
    /// Where the per-epoch checkpoint lives (nil: no resume).
    public var resume: ResumeCheckpoint?
    /// Called after every batch with (batch, batches in the epoch).
    public var onBatch: (Int, Int) -> Void = { _, _ in }
    /// Called after every epoch, also for epochs restored from a checkpoint (marked `resumed`).
    public var onEpoch: (_ record: EpochRecord, _ resumed: Bool) -> Void = { _, _ in }
    /// Called once when a run continues from a checkpoint, with the epochs already done.
    public var onResume: (Int) -> Void = { _ in }
    /// Per-epoch extras of a trainer (its own statistics, a schedule of loss weights), run after
    /// the epoch's step and before its validation.
    public var afterEpoch: [(Int) throws -> Void] = []
    /// Called when an epoch becomes the best so far (its weights are the ones kept), for state
    /// a trainer keeps beside the weights of the best epoch.
    public var onNewBest: (Int) -> Void = { _ in }

    public init(model: Module, optimizer: Optimizer, batches: Batches, epochs: Int, loss: @escaping (Batches.Batch) throws -> StepResult) {
        self.model = model
        self.optimizer = optimizer
        self.batches = batches
        self.epochs = epochs
        self.loss = loss
    }

    public func run() throws -> TrainingOutcome {
        var progress = TrainingProgress(nextEpoch: 0, history: [], best: nil, stopped: false, seconds: 0)
        if let resume, let saved = try resume.load(into: model, optimizer: optimizer) {
            progress = saved
            onResume(progress.nextEpoch)
            for record in progress.history { onEpoch(record, true) }
        }
        var bestState = progress.best == nil ? nil : try resume?.bestState()
        var epoch = progress.nextEpoch
        while epoch < epochs && !progress.stopped {
            let epochStart = DispatchTime.now().uptimeNanoseconds
            if let learningRate { optimizer.setLearningRate(learningRate(epoch)) }
            model.train()
            var lossSum = 0.0, correct = 0, seen = 0, batchIndex = 0
            let count = batches.batchesPerEpoch
            try batches.forEachBatch(epoch: epoch) { batch in
                optimizer.zeroGrad()
                let step = try loss(batch)
                step.loss.backward()
                optimizer.step()
                lossSum += step.loss.item() * Double(step.samples)
                correct += step.correct
                seen += step.samples
                batchIndex += 1
                onBatch(batchIndex, count)
            }
            for extra in afterEpoch { try extra(epoch) }
            let validationAccuracy = try validate?()
            let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                                     validationAccuracy: validationAccuracy,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - epochStart) / 1e9)
            progress.history.append(record)
            onEpoch(record, false)
            let score = validationAccuracy ?? record.trainAccuracy
            if progress.best == nil || score >= progress.best!.score {
                progress.best = .init(epoch: epoch, score: score)
                bestState = ModelState(model)
                onNewBest(epoch)
            } else if let patience, epoch - progress.best!.epoch >= patience {
                progress.stopped = true
            }
            epoch += 1
            progress.nextEpoch = epoch
            progress.seconds += Double(DispatchTime.now().uptimeNanoseconds - epochStart) / 1e9
            try resume?.save(progress, model: model, best: bestState, optimizer: optimizer)
        }
        bestState?.restore(into: model)
        model.eval()
        return TrainingOutcome(bestEpoch: progress.best?.epoch ?? 0, bestValidationAccuracy: validate == nil ? nil : progress.best?.score,
                               history: progress.history, seconds: progress.seconds)
    }
}

/// Parameters and buffers of a model, copied (the best epoch's weights).
public struct ModelState {
    public let tensors: [Tensor]

    public init(_ model: Module) {
        tensors = model.parameters().map { $0.value.clone() } + model.namedBuffers().map { $0.1.value.clone() }
    }

    init(tensors: [Tensor]) { self.tensors = tensors }

    public func restore(into model: Module) {
        let targets = model.parameters().map(\.value) + model.namedBuffers().map(\.1.value)
        for (target, saved) in zip(targets, tensors) { target.copyElements(from: saved) }
    }
}
