/// How a segmentation network is trained and extended (Ozdemir et al. 2018: U-Net width 64,
/// batch 8, 1000 epochs, α = 0.5, k_c = 50, k_r = 30, T = 29; the reference code: width 32,
/// exemplar batches at ratio 0.5, Adam 1e-3). Read from YAML over a preset; the command line
/// overrides single keys.
public struct SegmentationSettings: Codable, Sendable, Equatable {
    /// Width of the U-Net's first level (64 in the paper, 32 in the reference code).
    public var base: Int
    /// Spatial dropout rate of the body and the heads.
    public var dropout: Double
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    /// α of eq. (1): L = α L_c + (1 − α) L_d on new-data batches.
    public var alpha: Double
    /// Probability that a step is a replay batch (exemplars, or the old data for `joint`).
    public var exemplarRatio: Double
    /// Whether L_d weights the soft targets with the old head's class weights, as the reference
    /// code's "fuzzy CE" does, or not, as the paper's eq. (2) (L_d = −Σ_c t_c log y_c). With
    /// weights w the minimiser of L_d is y_c ∝ w_c t_c, not t: on a small structure (background
    /// weighed ~50x less) the distilled head drifts to foreground everywhere off the old data.
    public var distillationClassWeights: Bool
    /// The reference code's variant: two Adam optimizers, L_c over {body, new head} and L_d
    /// over {body, old heads} (`TwoLossAdam`), instead of one Adam on α L_c + (1 − α) L_d
    /// (α is then unused).
    public var twoOptimizers: Bool
    /// Isotropic rescale in [1/1.5, 1.5) and left-right flip, joint on image, mask and soft targets.
    public var augment: Bool
    /// Keep the epoch with the best validation Dice of the new structure (else the last epoch).
    public var validate: Bool
    /// Stop after this many epochs without a better validation Dice (nil: never).
    public var patience: Int?
    public var seed: UInt64
    public var exemplars: ExemplarSettings
    /// CoRiSeg's feature extractor: a VGG16 safetensors file (`scripts/convert_vgg16.py`);
    /// nil: the U-Net's own encoder.
    public var vgg16: String?
    /// VGG16 input size (224 in the paper); nil keeps the slice size.
    public var vgg16InputSize: Int?
    /// Keep only the largest connected component of each structure in predictions.
    public var largestComponent: Bool

    public init(base: Int = 64, dropout: Double = 0.5, epochs: Int = 1000, batchSize: Int = 8, learningRate: Double = 1e-3,
                alpha: Double = 0.5, exemplarRatio: Double = 0.5, distillationClassWeights: Bool = false, twoOptimizers: Bool = false, augment: Bool = true,
                validate: Bool = true, patience: Int? = nil, seed: UInt64 = 10, exemplars: ExemplarSettings = ExemplarSettings(),
                vgg16: String? = nil, vgg16InputSize: Int? = 224, largestComponent: Bool = false) {
        self.base = base; self.dropout = dropout; self.epochs = epochs; self.batchSize = batchSize
        self.learningRate = learningRate; self.alpha = alpha; self.exemplarRatio = exemplarRatio
        self.distillationClassWeights = distillationClassWeights; self.twoOptimizers = twoOptimizers; self.augment = augment; self.validate = validate; self.patience = patience
        self.seed = seed; self.exemplars = exemplars; self.vgg16 = vgg16; self.vgg16InputSize = vgg16InputSize
        self.largestComponent = largestComponent
    }

    /// The paper's settings.
    public static let paper = SegmentationSettings()

    /// A CPU preset for phantom slices of 32 x 32: width 4, dropout 0.1 (0.5 of 4 channels
    /// leaves the network too little to learn from in few epochs), Adam 3e-3, 16 epochs,
    /// smaller exemplar sets and fewer MC passes.
    public static let quick = SegmentationSettings(
        base: 4, dropout: 0.1, epochs: 16, batchSize: 8, learningRate: 3e-3, validate: true,
        exemplars: ExemplarSettings(capacity: 24, representatives: 12, candidates: 24, monteCarloPasses: 9), vgg16InputSize: nil)

    enum CodingKeys: String, CodingKey {
        case base, dropout, epochs, alpha, augment, validate, patience, seed, exemplars, vgg16
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case exemplarRatio = "exemplar_ratio"
        case twoOptimizers = "two_optimizers"
        case distillationClassWeights = "distillation_class_weights"
        case vgg16InputSize = "vgg16_input_size"
        case largestComponent = "largest_component"
    }

    /// The settings, or an error naming the first impossible value.
    public func validated() throws -> SegmentationSettings {
        func check(_ ok: Bool, _ why: String) throws { if !ok { throw SegmentationError.invalid("segmentation settings: \(why)") } }
        try check(base >= 1, "base width \(base) must be at least 1")
        try check((0..<1).contains(dropout), "dropout \(dropout) must be in [0, 1)")
        try check(epochs >= 1, "epochs \(epochs) must be at least 1")
        try check(batchSize >= 1, "batch_size \(batchSize) must be at least 1")
        try check(learningRate > 0, "learning_rate \(learningRate) must be positive")
        try check((0...1).contains(alpha), "alpha \(alpha) must be in [0, 1]")
        try check((0..<1).contains(exemplarRatio), "exemplar_ratio \(exemplarRatio) must be in [0, 1)")
        try check(patience.map { $0 >= 1 } ?? true, "patience must be at least 1")
        try check(vgg16InputSize.map { $0 >= 32 } ?? true, "vgg16_input_size must be at least 32")
        _ = try exemplars.validated()
        return self
    }
}
