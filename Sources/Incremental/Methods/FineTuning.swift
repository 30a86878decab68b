import DataLoading
import Foundation
import NeuralNet
import Training

/// Sequential fine-tuning, the lower reference, as Bransby et al. 2024 run it ("ft_expand";
/// docs/methods/weighted-experts.md): one network with a bias-free `Linear(D, 1)` head per
/// canonical class (`PerClassHeadClassifier`), trained site after site, each step starting
/// from the previous step's weights (all of them, strictly). At each step the cross-entropy
/// covers only the current site's classes,
///
///     L = -log( exp(s_y) / Σ_{c ∈ C_site} exp(s_c) ),   s_c = w_c · f(x),
///
/// the heads of every other class are frozen (bit-identical after the step) and the backbone
/// trains. It learns the first site itself (its model is not the base classifier). Predictions
/// take the argmax over the heads trained so far (the reference's 15 heads are all trained
/// after its last step; before, an untrained head would only add noise). Saves
/// `models/fine-tune-step-<k>`.
public final class FineTuning: IncrementalMethod {
    public static let entry = MethodEntry(name: "fine-tune",
                                          summary: "one bias-free head per class; CE over the new site's classes, other heads frozen (Bransby et al. 2024)") {
        FineTuning(settings: $0)
    }

    let settings: ExperimentSettings
    /// The model of the last finished step (nil before step 0).
    var previous: (model: Module, spec: ClassifierSpec)?

    init(settings: ExperimentSettings) { self.settings = settings }

    /// The `medcil train` subcommand that runs this method's training step by step.
    public static var commandName: String { entry.name }

    /// One step: per-class heads over every class of the taxonomy, starting from `previous`
    /// (nil: a fresh `classifier`), trained on one site with only that site's heads active
    /// and trainable. The job's spec marks the heads trained once it is done (the earlier
    /// ones and this site's).
    static func job(previous: (model: Module, spec: ClassifierSpec)?, classifier: ClassifierSpec, site train: ShardDataset,
                    validation: ShardDataset, settings: TrainingSettings) -> ClassifierJob {
        let taxonomy = train.description.classes
        let all = taxonomy.sorted { $0.value < $1.value }.map(\.key)
        let siteClasses = Set(train.description.siteClassNames)
        let trained = Set(previous?.spec.trainedHeads ?? []).union(siteClasses)
        let spec = (previous?.spec ?? classifier).withPerClassHeads(all, trained: all.filter(trained.contains))
        // The site's heads in canonical order; a sample's target is its class's place among them.
        let siteHeads = all.indices.filter { siteClasses.contains(all[$0]) }
        let labelMap = Dictionary(uniqueKeysWithValues: siteHeads.enumerated().map { (taxonomy[all[$0.element]]!, $0.offset) })
        return ClassifierJob(spec: spec, settings: settings, train: ConcatDataset([train], labelMap: labelMap),
                             validation: ConcatDataset([validation], labelMap: labelMap)) {
            guard let model = spec.build() as? PerClassHeadClassifier else {
                throw IncrementalError.invalid("fine-tuning needs a classifier with per-class heads")
            }
            if let previous {
                let report = try Checkpoint.load(model, state: Checkpoint.stateDict(previous.model), strict: true)
                guard report.shapeMismatches.isEmpty else { throw IncrementalError.invalid("the previous fine-tuned model differs: \(report)") }
            }
            model.focus(on: siteHeads)
            return model
        }
    }

    /// After training: every trained head gives an output, as the spec says.
    static func predicting(_ model: Module, spec: ClassifierSpec) -> Module {
        if let model = model as? PerClassHeadClassifier, let trained = spec.trainedHeads {
            model.active = spec.classes.indices.filter { trained.contains(spec.classes[$0]) }
        }
        return model
    }

    func folder(_ context: StepContext) -> URL { context.folder.appendingPathComponent("models/fine-tune-step-\(context.step)") }

    public func learnFirstSite(_ context: StepContext) throws -> MethodStep? { try addSite(context) }

    public func addSite(_ context: StepContext) throws -> MethodStep {
        let job = Self.job(previous: previous, classifier: settings.classifier, site: context.site.trainCanonical,
                           validation: context.site.validationCanonical, settings: settings.fineTune)
        let key = "fine-tune-step-\(context.step)"
        let (trained, outcome) = try context.trainClassifier(job, label: "fine-tune on \(context.site.name)", key: key)
        let model = Self.predicting(trained, spec: job.spec)
        try ModelBundle(spec: job.spec, sites: context.seen.map(\.description), settings: settings.fineTune, outcome: outcome,
                        initialisedFrom: context.step == 0 ? nil : "fine-tune-step-\(context.step - 1)").write(model, nmfOver: nil, to: folder(context))
        context.clearResume(key)
        previous = (model, job.spec)
        return MethodStep(predictions: try context.predictions(of: model, spec: job.spec), stages: [("fine-tune on \(context.site.name)", outcome.seconds)])
    }

    public func resumeAfter(_ context: StepContext) throws {
        let (bundle, model) = try ModelBundle.load(from: folder(context))
        previous = (model, bundle.spec)
    }
}
