import DataLoading
import Foundation
import NeuralNet
import Training

/// MedCIL's full-head variant of sequential fine-tuning (not the reference's; `fine-tune` is):
/// the previous step's classifier, its one output layer (with bias) grown to the new site's
/// classes (old rows kept, new rows fresh), trained with cross-entropy over every class seen so
/// far on the new site alone, nothing frozen. Old classes then appear only as negatives, which
/// exaggerates forgetting; it stays because it is the naive fine-tuning most readers picture
/// and MedCIL's published demo numbers before the per-class heads used it. Starts from the
/// shared base classifier. Saves `models/fine-tune-full-head-step-<k>`.
public final class FullHeadFineTuning: IncrementalMethod {
    public static let entry = MethodEntry(name: "fine-tune-full-head",
                                          summary: "MedCIL variant: one head with bias grown per site, CE over all seen classes, nothing frozen") {
        FullHeadFineTuning(settings: $0)
    }

    let settings: ExperimentSettings
    /// The classifier of the last finished step (nil: the base classifier).
    var previous: (model: Module, spec: ClassifierSpec)?

    init(settings: ExperimentSettings) { self.settings = settings }

    /// The `medcil train` subcommand that runs this method's training step by step.
    public static var commandName: String { entry.name }

    /// The previous classifier grown to the new site's classes, trained on that site.
    ///
    /// The random stream is seeded and one network of the grown shape is built and dropped
    /// before the grown copy is made: the fresh head rows and the dropout stream then come from
    /// the same draws as in MedCIL's runs before methods were registered (where a Combine &
    /// Retrain model of that shape was always built from the same seed just before), so the
    /// published demo numbers stay reproducible.
    static func job(previous: Module, previousSpec: ClassifierSpec, site train: ShardDataset, validation: ShardDataset,
                    settings: TrainingSettings) -> ClassifierJob {
        let (union, map) = classUnion(previousSpec.classes + train.description.siteClassNames, taxonomy: train.description.classes)
        let spec = previousSpec.withClasses(union)
        return ClassifierJob(spec: spec, settings: settings, train: ConcatDataset([train], labelMap: map),
                             validation: ConcatDataset([validation], labelMap: map)) {
            _ = spec.build()
            return try ClassifierSurgery.expandHead(of: previous, spec: previousSpec, to: union)
        }
    }

    func folder(_ context: StepContext) -> URL { context.folder.appendingPathComponent("models/fine-tune-full-head-step-\(context.step)") }

    public func addSite(_ context: StepContext) throws -> MethodStep {
        let (model, spec) = previous ?? (context.base.model, context.base.spec)
        let job = Self.job(previous: model, previousSpec: spec, site: context.site.trainCanonical, validation: context.site.validationCanonical,
                           settings: settings.fineTune)
        let (trained, outcome) = try context.trainClassifier(job, label: "fine-tune-full-head on \(context.site.name)", key: "fine-tune-full-head-step-\(context.step)")
        try ModelBundle(spec: job.spec, sites: [context.site.description], settings: settings.fineTune, outcome: outcome,
                        initialisedFrom: "fine-tune-full-head step \(context.step - 1)").write(trained, nmfOver: nil, to: folder(context))
        context.clearResume("fine-tune-full-head-step-\(context.step)")
        previous = (trained, job.spec)
        return MethodStep(predictions: try context.predictions(of: trained, spec: job.spec), stages: [("fine-tune on \(context.site.name)", outcome.seconds)])
    }

    public func resumeAfter(_ context: StepContext) throws {
        // Step 0 is the shared base classifier, which `addSite` starts from when nothing is kept.
        guard context.step > 0 else { return }
        let (bundle, model) = try ModelBundle.load(from: folder(context))
        previous = (model, bundle.spec)
    }
}
