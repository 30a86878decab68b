import ArrayFiles
import DataLoading
import Foundation
import NeuralNet
import Training

/// One classifier to train, as the base classifier, the experts, Combine & Retrain and
/// fine-tuning all are: a seeded build (or a model to continue from), optionally the backbone
/// of another model, then cross-entropy and Adam through the training loop.
public struct ClassifierJob {
    public var spec: ClassifierSpec
    public var settings: TrainingSettings
    public var train: SampleSource
    public var validation: SampleSource?
    /// A model whose backbone the new one starts from (an expert from the base classifier).
    public var backbone: Module?
    /// Makes the model to train instead of a fresh build, after the random stream is seeded
    /// (fine-tuning's grown head).
    public var start: (() throws -> Module)?

    public init(spec: ClassifierSpec, settings: TrainingSettings, train: SampleSource, validation: SampleSource?,
                backbone: Module? = nil, start: (() throws -> Module)? = nil) {
        self.spec = spec; self.settings = settings; self.train = train
        self.validation = validation; self.backbone = backbone; self.start = start
    }

    /// Says what is trained, for a resume checkpoint: spec, settings and the data's sizes.
    public var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let spec = (try? encoder.encode(self.spec)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let settings = (try? encoder.encode(self.settings)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "classifier \(spec) \(settings) train \(train.count) validation \(validation?.count ?? 0) backbone \(backbone != nil)"
    }

    public func run(resume: ResumeCheckpoint? = nil, onEpoch: @escaping (EpochRecord) -> Void = { _ in },
                    onBatch: @escaping (Int, Int) -> Void = { _, _ in }, onResume: @escaping (Int) -> Void = { _ in }) throws -> (Module, TrainingOutcome) {
        NeuralNetRandom.seed(settings.seed)
        let model = try start?() ?? spec.build()
        if let backbone { try ClassifierSurgery.copyBackbone(from: backbone, to: model) }
        var trainer = ClassifierTrainer(settings: settings)
        trainer.resume = resume
        trainer.onEpoch = onEpoch
        trainer.onBatch = onBatch
        trainer.onResume = onResume
        let outcome = try trainer.train(model, on: train, validation: validation)
        return (model, outcome)
    }
}

extension ModelBundle {
    /// A bundle for a classifier trained on `sites` (their names and normalisations).
    public init(spec: ClassifierSpec, sites: [ShardDescription], settings: TrainingSettings, outcome: TrainingOutcome?, initialisedFrom: String?) {
        self.init(spec: spec, sites: sites.map(\.site),
                  normalization: Dictionary(uniqueKeysWithValues: sites.map { ($0.site, [$0.normalization.mean, $0.normalization.std]) }),
                  settings: settings, outcome: outcome, initialisedFrom: initialisedFrom)
    }

    /// Writes a trained classifier: its NMF over `nmfOver` first (the base classifier and the
    /// experts, whose features fusion compares), the resolved training settings, then the
    /// weights and model.json, which is written last and so marks the folder complete.
    public func write(_ model: Module, nmfOver: SampleSource?, to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        if let nmfOver {
            let nmf = try NeuralMeanDiscrepancy.meanFeature(model, over: nmfOver)
            try NpyArray(nmf, shape: [nmf.count]).write(to: folder.appendingPathComponent(Self.nmfFile))
        }
        try ResolvedConfig.write(settings, to: folder)
        try save(model, to: folder)
    }

    /// Whether `folder` holds a complete classifier (model.json is written last).
    public static func isComplete(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(descriptionFile).path)
    }
}
