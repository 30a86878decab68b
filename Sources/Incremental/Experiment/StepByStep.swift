import DataLoading
import Foundation
import NeuralNet
import Training

/// The experiment's steps one at a time, each at the site that may run it (the `medcil train`
/// commands): the same jobs the experiment runs, with the model written to `out` and a
/// per-epoch checkpoint in `out/resume`, so that the same command after a kill continues from
/// the last finished epoch.
public enum StepByStep {
    /// What a command shows while training: every epoch (also those a resumed run restored) and every batch.
    public struct Display {
        public var onEpoch: (EpochRecord) -> Void
        public var onBatch: (Int, Int) -> Void
        /// Training continues from a checkpoint after this many epochs.
        public var onResume: (Int) -> Void

        public init(onEpoch: @escaping (EpochRecord) -> Void = { _ in }, onBatch: @escaping (Int, Int) -> Void = { _, _ in },
                    onResume: @escaping (Int) -> Void = { _ in }) {
            self.onEpoch = onEpoch
            self.onBatch = onBatch
            self.onResume = onResume
        }
    }

    /// The base site's classifier, with its NMF.
    public static func baseClassifier(shards: URL, architecture: ClassifierSpec.Architecture, width: Int, settings: TrainingSettings,
                                      out: URL, display: Display = Display()) throws -> TrainingOutcome {
        let train = try ShardDataset(folder: shards, split: "train", labelSpace: .site)
        let validation = try ShardDataset(folder: shards, split: "val", labelSpace: .site)
        let spec = ClassifierSpec(architecture: architecture, width: width, inChannels: train.sampleShape[0], inputSize: train.sampleShape[1],
                                  classes: train.description.siteClassNames)
        let job = ClassifierJob(spec: spec, settings: settings, train: train, validation: validation)
        return try run(job, sites: [train.description], initialisedFrom: nil, nmf: true, out: out, display: display)
    }

    /// A new site's expert: the base classifier's backbone, a fresh head for the site's classes, then its NMF.
    public static func expert(base: URL, shards: URL, settings: TrainingSettings, out: URL, display: Display = Display()) throws -> TrainingOutcome {
        let (baseBundle, baseModel) = try ModelBundle.load(from: base)
        let train = try ShardDataset(folder: shards, split: "train", labelSpace: .site)
        let validation = try ShardDataset(folder: shards, split: "val", labelSpace: .site)
        let job = ClassifierJob(spec: baseBundle.spec.withClasses(train.description.siteClassNames), settings: settings, train: train,
                                validation: validation, backbone: baseModel)
        return try run(job, sites: [train.description], initialisedFrom: base.lastPathComponent, nmf: true, out: out, display: display)
    }

    /// Combine & Retrain over every site's shards pooled.
    public static func combined(shards: [URL], architecture: ClassifierSpec.Architecture, width: Int, settings: TrainingSettings,
                                out: URL, display: Display = Display()) throws -> (classes: Int, outcome: TrainingOutcome) {
        let sites = try shards.map { (try ShardDataset(folder: $0, split: "train"), try ShardDataset(folder: $0, split: "val")) }
        let shape = sites[0].0.sampleShape
        let classifier = ClassifierSpec(architecture: architecture, width: width, inChannels: shape[0], inputSize: shape[1], classes: [])
        let job = CombinedRetrain.job(sites: sites.map { (train: $0.0, validation: $0.1) }, classifier: classifier, settings: settings)
        let outcome = try run(job, sites: sites.map(\.0.description), initialisedFrom: nil, nmf: false, out: out, display: display)
        return (job.spec.classes.count, outcome)
    }

    /// Fine-tuning as Bransby et al. 2024 run it: per-class heads, the previous fine-tuned
    /// model's weights (`from`; nil: a fresh network of `architecture` and `width`, the first
    /// site), trained on the new site with only its heads active and the others frozen.
    public static func fineTune(from previous: URL?, shards: URL, architecture: ClassifierSpec.Architecture, width: Int,
                                settings: TrainingSettings, out: URL, display: Display = Display()) throws -> (classes: Int, outcome: TrainingOutcome) {
        let earlier = try previous.map { try ModelBundle.load(from: $0) }
        if let earlier, earlier.0.spec.trainedHeads == nil {
            throw IncrementalError.invalid("\(previous!.path): not a fine-tuned model with per-class heads (start fine-tuning without --from on the first site)")
        }
        let train = try ShardDataset(folder: shards, split: "train"), validation = try ShardDataset(folder: shards, split: "val")
        let classifier = ClassifierSpec(architecture: architecture, width: width, inChannels: train.sampleShape[0], inputSize: train.sampleShape[1], classes: [])
        let job = FineTuning.job(previous: earlier.map { ($0.1, $0.0.spec) }, classifier: classifier, site: train, validation: validation,
                                 settings: settings)
        return try saveSequential(job, previous: earlier?.0, previousName: previous?.lastPathComponent, site: train.description, out: out,
                                  display: display) { FineTuning.predicting($0, spec: job.spec) }
    }

    /// MedCIL's full-head variant of fine-tuning: a previous classifier, its one head grown to
    /// the new site's classes, trained on the new site over every class, nothing frozen.
    public static func fineTuneFullHead(from previous: URL, shards: URL, settings: TrainingSettings, out: URL,
                                        display: Display = Display()) throws -> (classes: Int, outcome: TrainingOutcome) {
        let (bundle, model) = try ModelBundle.load(from: previous)
        let train = try ShardDataset(folder: shards, split: "train"), validation = try ShardDataset(folder: shards, split: "val")
        let job = FullHeadFineTuning.job(previous: model, previousSpec: bundle.spec, site: train, validation: validation, settings: settings)
        return try saveSequential(job, previous: bundle, previousName: previous.lastPathComponent, site: train.description, out: out,
                                  display: display) { $0 }
    }

    /// Runs a fine-tuning job with its per-epoch checkpoint and saves the model with the
    /// previous model's sites and normalisations plus the new site's.
    static func saveSequential(_ job: ClassifierJob, previous: ModelBundle?, previousName: String?, site: ShardDescription, out: URL,
                               display: Display, finish: (Module) -> Module) throws -> (classes: Int, outcome: TrainingOutcome) {
        let resume = ResumeCheckpoint(folder: out.appendingPathComponent("resume"), fingerprint: job.fingerprint)
        let (trained, outcome) = try job.run(resume: resume, onEpoch: display.onEpoch, onBatch: display.onBatch, onResume: display.onResume)
        var normalization = previous?.normalization ?? [:]
        normalization[site.site] = [site.normalization.mean, site.normalization.std]
        try ModelBundle(spec: job.spec, sites: (previous?.sites ?? []) + [site.site], normalization: normalization, settings: job.settings,
                        outcome: outcome, initialisedFrom: previousName).write(finish(trained), nmfOver: nil, to: out)
        try resume.remove()
        return (job.spec.outputClasses.count, outcome)
    }

    /// A fusion on exported features: trained (sf, nmd-wsf, attn-wsf; nil network otherwise)
    /// and written to `out` with its description.
    public static func fusion(method: FusionMethod, features: [URL], validation: [URL], settings: ScoreFusion.Settings, out: URL,
                              onEpoch: @escaping (EpochRecord) -> Void = { _ in }) throws -> (network: ScoreFusionNetwork?, outcome: TrainingOutcome?) {
        let train = try FeatureArrays.load(features)
        let taxonomy = train.description.classes
        let pooler = try KnowledgePooler(expertClasses: train.description.experts.map(\.classes), taxonomy: taxonomy)
        var bundle = FusionBundle(method: method, pooler: pooler, experts: train.description.experts, featureDimension: train.featureDimension,
                                  nmdDimension: train.nmdCount, settings: settings, outcome: nil)
        guard method.isTrained else {
            try bundle.save(nil, to: out)
            return (nil, nil)
        }
        let validationData = validation.isEmpty ? nil : try FeatureArrays.load(validation)
        let resume = ResumeCheckpoint(folder: out.appendingPathComponent("resume"),
                                      fingerprint: "fusion \(method.rawValue) \(try ResolvedConfig.text(settings)) \(train.count) \(validationData?.count ?? 0)")
        let (network, outcome) = try ScoreFusion.train(method: method, on: train, validation: validationData, taxonomy: taxonomy,
                                                       settings: settings, resume: resume, onEpoch: onEpoch)
        bundle.outcome = outcome
        try bundle.save(network, to: out)
        try resume.remove()
        return (network, outcome)
    }

    static func run(_ job: ClassifierJob, sites: [ShardDescription], initialisedFrom: String?, nmf: Bool, out: URL, display: Display) throws -> TrainingOutcome {
        let resume = ResumeCheckpoint(folder: out.appendingPathComponent("resume"), fingerprint: job.fingerprint)
        let (model, outcome) = try job.run(resume: resume, onEpoch: display.onEpoch, onBatch: display.onBatch, onResume: display.onResume)
        try ModelBundle(spec: job.spec, sites: sites, settings: job.settings, outcome: outcome, initialisedFrom: initialisedFrom)
            .write(model, nmfOver: nmf ? job.train : nil, to: out)
        try resume.remove()
        return outcome
    }
}
