import DataLoading
import Foundation
import NeuralNet
import Training

/// Combine & Retrain, the upper reference: at each step one classifier trained from scratch on
/// every seen site's data pooled (each image in its own site's normalisation). Saves
/// `models/combined-step-<k>`.
public final class CombinedRetrain: IncrementalMethod {
    public static let entry = MethodEntry(name: "combined", summary: "Combine & Retrain: one classifier on every seen site's data pooled") {
        CombinedRetrain(settings: $0)
    }

    let settings: ExperimentSettings

    init(settings: ExperimentSettings) { self.settings = settings }

    /// The `medcil train` subcommand that runs this method's training step by step.
    public static var commandName: String { entry.name }

    /// The classifier over the union of the sites' classes, ready to train.
    static func job(sites: [(train: ShardDataset, validation: ShardDataset)], classifier: ClassifierSpec, settings: TrainingSettings) -> ClassifierJob {
        let taxonomy = sites[0].train.description.classes
        let (union, map) = classUnion(sites.flatMap { $0.train.description.siteClassNames }, taxonomy: taxonomy)
        return ClassifierJob(spec: classifier.withClasses(union), settings: settings,
                             train: ConcatDataset(sites.map(\.train), labelMap: map), validation: ConcatDataset(sites.map(\.validation), labelMap: map))
    }

    public func addSite(_ context: StepContext) throws -> MethodStep {
        let job = Self.job(sites: context.seen.map { ($0.trainCanonical, $0.validationCanonical) }, classifier: settings.classifier,
                           settings: settings.combined)
        let (model, outcome) = try context.trainClassifier(job, label: "combined \(context.seen.map(\.name).joined(separator: "+"))",
                                                           key: "combined-step-\(context.step)")
        try ModelBundle(spec: job.spec, sites: context.seen.map(\.description), settings: settings.combined, outcome: outcome, initialisedFrom: nil)
            .write(model, nmfOver: nil, to: context.folder.appendingPathComponent("models/combined-step-\(context.step)"))
        context.clearResume("combined-step-\(context.step)")
        return MethodStep(predictions: try context.predictions(of: model, spec: job.spec), stages: [("retrain on all sites", outcome.seconds)])
    }
}
