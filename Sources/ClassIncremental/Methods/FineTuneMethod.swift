import Foundation
import NeuralNet
import TensorCore
import Training

/// Fine-tuning: cross-entropy on the new task's images only (every head row trainable), the
/// lower bound of forgetting.
public struct FineTuneMethod: ClassIncrementalMethod {
    public static let name = "fine-tune"
    public static let summary = "cross-entropy on the new task's images only (lower bound)"
    public var norm: NormKind { .batch }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        let model = try grownModel(context, previous: previous, norm: norm)
        let started = Date()
        try trainWithCrossEntropy(model, context, images: context.taskTrain)
        return TaskOutcome(model: model, memory: memory, updateSeconds: Date().timeIntervalSince(started))
    }
}

/// Plain cross-entropy training of `model` on `images` for the task's epochs (plus `extra`
/// loss terms of a batch, such as distillation).
func trainWithCrossEntropy(_ model: IncrementalNet, _ context: TaskContext, images: ImageSet,
                           extra: ((LabelledBatch, Tensor) -> Tensor)? = nil) throws {
    let batches = SampledBatches(set: images, batchSize: context.config.training.batchSize, seed: context.seed(11))
    _ = try TaskTrainer.train(model: model, batches: batches, epochs: context.config.epochs(task: context.task),
                              settings: context.config.training, validation: context.seenValidation) { batch in
        let logits = model.logits(batch.images)
        var step = StepResult.crossEntropy(logits, targets: batch.labels)
        if let extra { step.loss = step.loss + extra(batch, logits) }
        return step
    }
}
