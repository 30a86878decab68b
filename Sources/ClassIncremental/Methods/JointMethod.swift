import Foundation
import NeuralNet
import TensorCore

/// Joint training: cross-entropy on every training image of every class seen so far (all the
/// data the data-free methods may not keep), continuing from the previous model: the ceiling.
public struct JointMethod: ClassIncrementalMethod {
    public static let name = "joint"
    public static let summary = "all data of every task so far (upper bound)"
    public var norm: NormKind { .batch }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        let model = try grownModel(context, previous: previous, norm: norm)
        let started = Date()
        try trainWithCrossEntropy(model, context, images: context.data.train.restricted(to: Set(0..<context.seenClasses)))
        return TaskOutcome(model: model, memory: memory, updateSeconds: Date().timeIntervalSince(started))
    }
}
