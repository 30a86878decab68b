import DataLoading
import Foundation
import Metrics
import NeuralNet
import Training

/// What a method gets at a step: the new site, every site seen so far, the settings, the run
/// folder, the base classifier, the experts' exported features (when the method asked for
/// them), and the experiment's services (classifier training with progress and resume,
/// predictions of a classifier, stage progress).
public final class StepContext {
    public let step: Int
    public let site: SiteData
    public let seen: [SiteData]
    public let taxonomy: [String: Int]
    public let settings: ExperimentSettings
    /// The run folder.
    public let folder: URL
    /// The base classifier of step 0 (every method that does not learn the first site itself starts from it).
    public let base: (model: Module, spec: ClassifierSpec, folder: URL)
    /// Every seen site's train, validation and test features through every expert so far
    /// (nil unless a method of the run needs `.expertFeatures`).
    public let features: ExpertFeatures?
    let experiment: IncrementalExperiment

    init(step: Int, seen: [SiteData], taxonomy: [String: Int], settings: ExperimentSettings, folder: URL,
         base: (model: Module, spec: ClassifierSpec, folder: URL), features: ExpertFeatures?, experiment: IncrementalExperiment) {
        self.step = step; self.site = seen[step]; self.seen = seen
        self.taxonomy = taxonomy; self.settings = settings; self.folder = folder
        self.base = base; self.features = features; self.experiment = experiment
    }

    /// Features a method asked for in its registration.
    public func requireFeatures(_ method: String) throws -> ExpertFeatures {
        guard let features else { throw IncrementalError.invalid("\(method) needs exported expert features, and the experiment made none") }
        return features
    }

    /// Trains a classifier as every classifier of the experiment is trained (seeded build,
    /// optional backbone from another model, progress, a per-epoch checkpoint under the run
    /// folder's `resume/<key>`), and saves it as `name` under the run folder.
    public func trainClassifier(_ job: ClassifierJob, label: String, key: String) throws -> (Module, TrainingOutcome) {
        try experiment.trainClassifier(job, label: label, key: key)
    }

    /// Runs a stage under a progress bar.
    public func withProgress<T>(_ label: String, _ body: (_ report: @escaping (Int, Int) -> Void) throws -> T) rethrows -> T {
        try experiment.withProgress(label, body)
    }

    /// The per-epoch checkpoint of a stage (`resume/<key>` under the run folder).
    public func resume(_ key: String, fingerprint: String) -> ResumeCheckpoint {
        ResumeCheckpoint(folder: folder.appendingPathComponent("resume/\(key)"), fingerprint: fingerprint)
    }

    /// Removes a stage's checkpoint once its result is saved.
    public func clearResume(_ key: String) { experiment.clearResume(key) }

    public func log(_ line: String) { experiment.log(line) }

    /// A classifier's predictions on every seen site's test set.
    public func predictions(of model: Module, spec: ClassifierSpec) throws -> [PredictionRow] {
        try Predictions.classifier(model, spec: spec, on: seen.map(\.testCanonical))
    }
}

/// Exported features of every seen site through every expert so far, per split.
public struct ExpertFeatures {
    public var train: FeatureArrays
    public var validation: FeatureArrays
    public var test: FeatureArrays
}
