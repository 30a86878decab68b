/// How a classifier is trained (Bransby et al. 2024: Adam 1e-3, batch 64, 200 epochs, the epoch
/// with the best validation accuracy kept, random seed 10). Read from YAML; the command line
/// overrides single keys.
public struct TrainingSettings: Codable, Sendable, Equatable {
    public var epochs: Int = 200
    public var batchSize: Int = 64
    public var learningRate: Double = 1e-3
    public var weightDecay: Double = 0
    public var seed: UInt64 = 10
    /// Rotation +-30 degrees, horizontal flip, brightness/contrast +-0.15 (the pipeline of Bransby et al. 2024).
    public var augment: Bool = true
    /// Stop after this many epochs without a better validation accuracy (nil: never).
    public var patience: Int?

    public init(epochs: Int = 200, batchSize: Int = 64, learningRate: Double = 1e-3, weightDecay: Double = 0, seed: UInt64 = 10,
                augment: Bool = true, patience: Int? = nil) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.seed = seed; self.augment = augment; self.patience = patience
    }

    enum CodingKeys: String, CodingKey {
        case epochs, seed, augment, patience
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case weightDecay = "weight_decay"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = TrainingSettings()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? defaults.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? defaults.batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? defaults.learningRate
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? defaults.weightDecay
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        augment = try c.decodeIfPresent(Bool.self, forKey: .augment) ?? defaults.augment
        patience = try c.decodeIfPresent(Int.self, forKey: .patience)
    }
}
