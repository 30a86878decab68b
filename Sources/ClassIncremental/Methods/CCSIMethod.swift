import NeuralNet

/// CCSI (continual class-specific impression, arXiv 2406.05631): Continual Normalization in
/// the network, so synthesis matches the statistics of group-normalised activations
/// (methods.md 2.3-2.5); the rest is `ImpressionPipeline`.
public struct CCSIMethod: ClassIncrementalMethod {
    public static let name = "ccsi"
    public static let summary = "class impressions with Continual Normalization, feature distillation, margin and IdC losses"
    public var norm: NormKind { .continual }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        try ImpressionPipeline(norm: norm).learn(context, previous: previous, memory: memory)
    }
}
