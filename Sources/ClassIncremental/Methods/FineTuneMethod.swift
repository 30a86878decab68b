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
                              settings: context.config.training, validation: context.selectionValidation) { batch in
        let logits = model.logits(batch.images)
        var step = StepResult.crossEntropy(logits, targets: batch.labels)
        if let extra { step.loss = step.loss + extra(batch, logits) }
        return step
    }
}

/// Cross-entropy training of `model` on `images` plus, after the first task, logit
/// distillation of the old classes' outputs towards `previous`'s at the config's temperature:
/// L = CE(z, y) + T^2 KL(softmax(z_ref / T) || softmax(z[:, :old] / T)) (LwF, and iCaRL's memory with it).
func trainWithLogitDistillation(_ model: IncrementalNet, _ context: TaskContext, images: ImageSet, previous: IncrementalNet?) throws {
    let reference = try previous.map { try $0.copy(inChannels: context.imageShape[0], imageSize: context.imageShape[1],
                                                   taskSizes: Array(context.taskSizes.dropLast())) }
    let old = context.oldClasses, temperature = context.config.temperature
    try trainWithCrossEntropy(model, context, images: images, extra: reference.map { reference in
        { batch, logits in
            let teacher = Autograd.withNoGrad { reference.logits(batch.images) }
            return distillationLoss(student: logits.slice(axis: 1, 0..<old), teacher: teacher, temperature: temperature)
        }
    })
}
