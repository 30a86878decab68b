import Foundation
import NeuralNet
import TensorCore

/// Learning without Forgetting (Li & Hoiem 2017): cross-entropy on the new task's images plus
/// logit distillation of the old classes' outputs towards the previous model's, at T = 2:
/// L = CE(z, y) + T^2 KL(softmax(z_ref / T) || softmax(z[:, :old] / T)).
public struct LwFMethod: ClassIncrementalMethod {
    public static let name = "lwf"
    public static let summary = "new-task cross-entropy + logit distillation at T = 2 (Li & Hoiem 2017)"
    public var norm: NormKind { .batch }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        let model = try grownModel(context, previous: previous, norm: norm)
        let started = Date()
        try trainWithLogitDistillation(model, context, images: context.taskTrain, previous: previous)
        return TaskOutcome(model: model, memory: memory, updateSeconds: Date().timeIntervalSince(started))
    }
}
