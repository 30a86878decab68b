import NeuralNet

/// Class Impression (CI, MICCAI 2022): the CCSI pipeline with BatchNorm, so synthesis uses
/// the DeepInversion BN-moment regulariser (methods.md 2.6).
public struct ClassImpressionMethod: ClassIncrementalMethod {
    public static let name = "ci"
    public static let summary = "class impressions with BatchNorm moments (DeepInversion regulariser)"
    public var norm: NormKind { .batch }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        try ImpressionPipeline(norm: norm).learn(context, previous: previous, memory: memory)
    }
}
