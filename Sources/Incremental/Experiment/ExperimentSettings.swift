import Training

/// Settings of a multi-site class-incremental run (read from YAML; the defaults are those of
/// Bransby et al. 2024, which `medcil demo` scales down to fit a 2-core machine).
public struct ExperimentSettings: Codable, Sendable {
    public var classifier = ClassifierSpec(classes: [])
    public var base = TrainingSettings()
    public var expert = TrainingSettings()
    public var combined = TrainingSettings()
    public var fineTune = TrainingSettings()
    public var fusion = ScoreFusion.Settings()
    /// Augmented passes over each site's training data for the fusion features (the reference: 5).
    public var featurePasses = 5
    /// Registered method names, in the order tables list them.
    public var methods: [String] = MethodRegistry.builtIn.names

    public init() {}

    enum CodingKeys: String, CodingKey {
        case classifier, base, expert, combined, fusion, methods
        case fineTune = "fine_tune"
        case featurePasses = "feature_passes"
    }
}
