import Foundation
import Metrics

/// A class-incremental method as the experiment runs it. Step 0 is shared by default: the
/// method starts from the base classifier trained on the first site; a method whose model
/// differs from the base classifier from the start (fine-tuning's per-class heads) learns the
/// first site itself in `learnFirstSite`. At each later step the
/// experiment hands the method the new site (and what it asked for in its registration) and
/// the method learns it, saves what it trained under the run folder, and predicts every seen
/// site's test set.
public protocol IncrementalMethod: AnyObject {
    /// Learns the site of `context.step` (1 or later) and predicts every seen site's test set.
    func addSite(_ context: StepContext) throws -> MethodStep

    /// Step 0 (`context.step` 0, `context.seen` the first site alone): nil (the default) shares
    /// the base classifier; otherwise the method trains its own model on the first site,
    /// saves it, and returns its predictions on that site's test set.
    func learnFirstSite(_ context: StepContext) throws -> MethodStep?

    /// A rerun of a killed experiment skips the steps this method had finished; it is told of
    /// each, in order (step 0 included), to load from the run folder what it keeps from step to step.
    func resumeAfter(_ context: StepContext) throws
}

extension IncrementalMethod {
    public func learnFirstSite(_ context: StepContext) throws -> MethodStep? { nil }
    public func resumeAfter(_ context: StepContext) throws {}
}

/// What a method did at one step: its predictions on every seen site's test set (with the
/// weight each expert got, `experts` naming the columns) and the stages it trained, timed.
public struct MethodStep {
    public var predictions: [PredictionRow]
    public var experts: [String]
    public var stages: [(name: String, seconds: Double)]

    public init(predictions: [PredictionRow], experts: [String] = [], stages: [(name: String, seconds: Double)]) {
        self.predictions = predictions
        self.experts = experts
        self.stages = stages
    }
}

/// What a method needs from the sites besides their own images.
public struct MethodNeeds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// An expert per site (trained from the base backbone at that site) and every seen site's
    /// features exported through all experts so far: the weighted-experts family.
    public static let expertFeatures = MethodNeeds(rawValue: 1)
}

/// A method's registration: its name (in configs, run.json, tables and the report), what it
/// needs, what it reports, and how to make one for a run.
public struct MethodEntry {
    public let name: String
    public let summary: String
    public let needs: MethodNeeds
    /// Whether its predictions carry expert weights learnt case by case (the report shows
    /// them per site); a fixed rule such as "the most confident expert decides" does not count.
    public let learntExpertWeights: Bool
    public let make: (ExperimentSettings) throws -> IncrementalMethod

    public init(name: String, summary: String, needs: MethodNeeds = [], learntExpertWeights: Bool = false,
                make: @escaping (ExperimentSettings) throws -> IncrementalMethod) {
        self.name = name
        self.summary = summary
        self.needs = needs
        self.learntExpertWeights = learntExpertWeights
        self.make = make
    }
}

/// The methods an experiment can run, in the order tables list them. A new method is one
/// file with its `MethodEntry` and one `register` line.
public struct MethodRegistry {
    public private(set) var entries: [MethodEntry] = []

    public init(_ entries: [MethodEntry] = []) {
        for entry in entries { register(entry) }
    }

    /// Adds a method; a name registered twice is a programming error.
    public mutating func register(_ entry: MethodEntry) {
        precondition(!entries.contains { $0.name == entry.name }, "method \(entry.name) is registered twice")
        entries.append(entry)
    }

    /// This registry with one more method.
    public func adding(_ entry: MethodEntry) -> MethodRegistry {
        var copy = self
        copy.register(entry)
        return copy
    }

    public var names: [String] { entries.map(\.name) }

    /// The entry of `name`, or an error that lists the registered names.
    public func entry(_ name: String) throws -> MethodEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw IncrementalError.invalid("unknown method '\(name)'; registered methods: \(names.joined(separator: ", "))")
        }
        return entry
    }

    /// MedCIL's methods: the weighted-experts family of Bransby et al. 2024 (see
    /// docs/methods/weighted-experts.md), its two baselines (Combine & Retrain, fine-tuning
    /// with per-class heads) and MedCIL's full-head variant of fine-tuning.
    public static let builtIn = MethodRegistry(FusionMethod.allCases.map(FusionMethodRunner.entry)
                                               + [CombinedRetrain.entry, FineTuning.entry, FullHeadFineTuning.entry])
}
