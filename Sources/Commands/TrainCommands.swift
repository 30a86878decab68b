import ArgumentParser
import ArrayFiles
import Console
import DataLoading
import Foundation
import Incremental
import NeuralNet
import Support
import TensorCore

/// `medcil train`: the training steps of the multi-site workflow; each reads only what its site may see.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train classifiers, site experts, fusion networks and the baselines.",
        discussion: """
        Multi-site workflow (each site's steps read only its own shards; the fusion step reads only exported files):
          1. base site:   medcil train classifier --shards A --out models/base
          2. each site k: medcil train expert --base models/base --shards K --out models/expert-k
          3. each site:   medcil features export --experts models/base models/expert-k ... --shards K --out features/k
          4. anywhere:    medcil train fusion --method nmd-wsf --features features/*/train --validation features/*/val --out fusion
        Baselines: medcil train combined (all sites pooled), medcil train fine-tune (sequential, growing head).
        """,
        subcommands: [TrainClassifier.self, TrainExpert.self, TrainFusion.self, TrainCombined.self, TrainFineTune.self]
    )
}

extension ClassifierSpec.Architecture: ExpressibleByArgument {}
extension FusionMethod: ExpressibleByArgument {}

/// Options every classifier-training command shares (command line > --config file > defaults).
struct TrainingOptions: ParsableArguments {
    @Option(help: "YAML file with training settings (keys: epochs, batch_size, learning_rate, weight_decay, seed, augment, patience).")
    var config: String?

    @Option(help: "Epochs (default 200, the seed's).")
    var epochs: Int?

    @Option(help: "Batch size (default 64).")
    var batchSize: Int?

    @Option(help: "Adam learning rate (default 1e-3).")
    var learningRate: Double?

    @Option(help: "Seed for initialisation, shuffling and augmentation (default 10).")
    var seed: UInt64?

    @Flag(help: "No augmentation (the default rotates, flips and jitters brightness/contrast).")
    var noAugment = false

    @Option(help: "Architecture: \(ClassifierSpec.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var architecture: ClassifierSpec.Architecture = .resnet18

    @Option(help: "Network width (ResNet base channels; the seed's 64).")
    var width: Int = 64

    mutating func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if width < 1 { throw ValidationError("--width must be at least 1") }
    }

    func settings() throws -> TrainingSettings {
        var settings = TrainingSettings()
        if let config { settings = try ConfigLoader.load(TrainingSettings.self, from: URL(fileURLWithPath: config)) }
        if let epochs { settings.epochs = epochs }
        if let batchSize { settings.batchSize = batchSize }
        if let learningRate { settings.learningRate = learningRate }
        if let seed { settings.seed = seed }
        if noAugment { settings.augment = false }
        return settings
    }
}

/// Prints epochs as they end and a batch progress bar.
struct TrainingDisplay {
    let reporter: (Int, Int) -> Void
    let label: String
    let mode: ProgressReporter.Mode

    static func attach(_ trainer: inout ClassifierTrainer, label: String, epochs: Int, mode: ProgressReporter.Mode) {
        var bar: ProgressReporter?
        trainer.onBatch = { done, total in
            if bar == nil { bar = ProgressReporter(label: label, total: total, unit: "batches", mode: mode) }
            bar?.advance()
            if done == total { bar?.finish(); bar = nil }
        }
        trainer.onEpoch = { r in
            print(String(format: "%@ epoch %d/%d: loss %.4f, train accuracy %.3f%@ (%.1f s)", label, r.epoch + 1, epochs, r.trainLoss,
                         r.trainAccuracy, r.validationAccuracy.map { String(format: ", validation accuracy %.3f", $0) } ?? "", r.seconds))
        }
    }
}

func siteClasses(_ description: ShardDescription) -> [String] {
    let names = Dictionary(uniqueKeysWithValues: description.classes.map { ($1, $0) })
    return description.siteClassIndices.map { names[$0]! }
}

func writeResolvedSettings(_ settings: TrainingSettings, to folder: URL) throws {
    try AtomicFile.write(Data(try ConfigLoader.yaml(settings).utf8), to: folder.appendingPathComponent("config.resolved.yaml"))
}

/// `medcil train classifier`
struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train the base site's view classifier on its shards (best validation epoch kept; NMF computed for fusion)."
    )

    @Option(help: "The site's converted dataset folder (with dataset.json).")
    var shards: String

    @Option(help: "Output folder (model.safetensors, model.json, nmf.npy, config.resolved.yaml).")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let folder = URL(fileURLWithPath: shards)
        let train = try ShardDataset(folder: folder, split: "train", labelSpace: .site)
        let validation = try ShardDataset(folder: folder, split: "val", labelSpace: .site)
        let settings = try training.settings()
        let spec = ClassifierSpec(architecture: training.architecture, width: training.width, inChannels: train.sampleShape[0],
                                  inputSize: train.sampleShape[1], classes: siteClasses(train.description))
        NeuralNetRandom.seed(settings.seed)
        let model = spec.build()
        var trainer = ClassifierTrainer(settings: settings)
        TrainingDisplay.attach(&trainer, label: "train \(train.description.site)", epochs: settings.epochs, mode: shared.progress.mode)
        let outcome = try trainer.train(model, on: train, validation: validation)
        try saveClassifierBundle(model, spec: spec, description: train.description, settings: settings, outcome: outcome, from: nil,
                                 nmfOver: train, to: URL(fileURLWithPath: out))
        print("best epoch \(outcome.bestEpoch + 1), validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)), \(String(format: "%.1f", outcome.seconds)) s; saved to \(out)")
    }

}

/// Writes a site classifier (or expert): weights, description, its NMF over its training set,
/// and the resolved settings.
func saveClassifierBundle(_ model: Module, spec: ClassifierSpec, description: ShardDescription, settings: TrainingSettings,
                          outcome: TrainingOutcome, from: String?, nmfOver: ShardDataset, to target: URL) throws {
        let bundle = ModelBundle(spec: spec, sites: [description.site],
                                 normalization: [description.site: [description.normalization.mean, description.normalization.std]],
                                 settings: settings, outcome: outcome, initialisedFrom: from)
        try bundle.save(model, to: target)
        let nmf = try NeuralMeanDiscrepancy.meanFeature(model, over: nmfOver)
        try NpyArray(nmf, shape: [nmf.count]).write(to: target.appendingPathComponent(ModelBundle.nmfFile))
        try writeResolvedSettings(settings, to: target)
}

/// `medcil train expert`
struct TrainExpert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expert",
        abstract: "Train a new site's expert: the base classifier's backbone, a fresh head for the site's classes, then its NMF."
    )

    @Option(help: "The base classifier's folder.")
    var base: String

    @Option(help: "The new site's converted dataset folder.")
    var shards: String

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let (baseBundle, baseModel) = try ModelBundle.load(from: URL(fileURLWithPath: base))
        let folder = URL(fileURLWithPath: shards)
        let train = try ShardDataset(folder: folder, split: "train", labelSpace: .site)
        let validation = try ShardDataset(folder: folder, split: "val", labelSpace: .site)
        let settings = try training.settings()
        let spec = baseBundle.spec.withClasses(siteClasses(train.description))
        NeuralNetRandom.seed(settings.seed)
        let model = spec.build()
        try ClassifierSurgery.copyBackbone(from: baseModel, to: model)
        var trainer = ClassifierTrainer(settings: settings)
        TrainingDisplay.attach(&trainer, label: "expert \(train.description.site)", epochs: settings.epochs, mode: shared.progress.mode)
        let outcome = try trainer.train(model, on: train, validation: validation)
        try saveClassifierBundle(model, spec: spec, description: train.description, settings: settings, outcome: outcome,
                                 from: URL(fileURLWithPath: base).lastPathComponent, nmfOver: train, to: URL(fileURLWithPath: out))
        print("expert for \(train.description.site): best epoch \(outcome.bestEpoch + 1), validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)); saved to \(out)")
    }
}

/// `medcil train fusion`
struct TrainFusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fusion",
        abstract: "Train a score-fusion network on exported features only (or set up an untrained combination).",
        discussion: "The knowledge pooler (the union of the experts' classes, maximum over experts that share a class) comes from the experts' class lists, i.e. from the sites' label maps."
    )

    @Option(help: "Method: \(FusionMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: FusionMethod = .nmdWSF

    @Option(parsing: .upToNextOption, help: "Exported training feature folders (all sites, same experts).")
    var features: [String]

    @Option(parsing: .upToNextOption, help: "Exported validation feature folders (for choosing the best epoch).")
    var validation: [String] = []

    @Option(help: "Output folder (fusion.safetensors, fusion.json).")
    var out: String

    @Option(help: "Epochs (default 50, the seed's).")
    var epochs: Int = 50

    @Option(help: "Seed.")
    var seed: UInt64 = 10

    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let train = try FeatureArrays.load(features.map { URL(fileURLWithPath: $0) })
        let taxonomy = train.description.classes
        var settings = ScoreFusion.Settings()
        settings.epochs = epochs
        settings.seed = seed
        let pooler = try KnowledgePooler(expertClasses: train.description.experts.map(\.classes), taxonomy: taxonomy)
        var bundle = FusionBundle(method: method, pooler: pooler, experts: train.description.experts, featureDimension: train.featureDimension,
                                  nmdDimension: train.nmdCount, settings: settings, outcome: nil)
        guard method.isTrained else {
            try bundle.save(nil, to: URL(fileURLWithPath: out))
            print("\(method.rawValue) needs no training; its description is in \(out)")
            return
        }
        let validationData = validation.isEmpty ? nil : try FeatureArrays.load(validation.map { URL(fileURLWithPath: $0) })
        let (network, outcome) = try ScoreFusion.train(method: method, on: train, validation: validationData, taxonomy: taxonomy, settings: settings) { epoch, trainAccuracy, validationAccuracy in
            print(String(format: "%@ epoch %d/%d: train accuracy %.3f%@", method.rawValue, epoch + 1, epochs, trainAccuracy,
                         validationAccuracy.map { String(format: ", validation accuracy %.3f", $0) } ?? ""))
        }
        bundle.outcome = outcome
        try bundle.save(network, to: URL(fileURLWithPath: out))
        print("\(method.rawValue): \(network.parameterCount) parameters, best epoch \(outcome.bestEpoch + 1); saved to \(out)")
    }
}

/// `medcil train combined`
struct TrainCombined: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combined",
        abstract: "Combine & Retrain: one classifier on every site's shards pooled (each image in its own site's normalisation)."
    )

    @Option(parsing: .upToNextOption, help: "Converted dataset folders of all sites.")
    var shards: [String]

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let folders = shards.map { URL(fileURLWithPath: $0) }
        let trains = try folders.map { try ShardDataset(folder: $0, split: "train") }
        let validations = try folders.map { try ShardDataset(folder: $0, split: "val") }
        let taxonomy = trains[0].description.classes
        let union = Array(Set(trains.flatMap { siteClasses($0.description) })).sorted { taxonomy[$0]! < taxonomy[$1]! }
        let map = Dictionary(uniqueKeysWithValues: union.enumerated().map { (taxonomy[$1]!, $0) })
        let settings = try training.settings()
        let spec = ClassifierSpec(architecture: training.architecture, width: training.width, inChannels: trains[0].sampleShape[0],
                                  inputSize: trains[0].sampleShape[1], classes: union)
        NeuralNetRandom.seed(settings.seed)
        let model = spec.build()
        var trainer = ClassifierTrainer(settings: settings)
        TrainingDisplay.attach(&trainer, label: "combined", epochs: settings.epochs, mode: shared.progress.mode)
        let outcome = try trainer.train(model, on: ConcatDataset(trains, labelMap: map), validation: ConcatDataset(validations, labelMap: map))
        let bundle = ModelBundle(spec: spec, sites: trains.map(\.description.site),
                                 normalization: Dictionary(uniqueKeysWithValues: trains.map { ($0.description.site, [$0.description.normalization.mean, $0.description.normalization.std]) }),
                                 settings: settings, outcome: outcome, initialisedFrom: nil)
        try bundle.save(model, to: URL(fileURLWithPath: out))
        try writeResolvedSettings(settings, to: URL(fileURLWithPath: out))
        print("combined classifier over \(union.count) classes: best epoch \(outcome.bestEpoch + 1), \(String(format: "%.1f", outcome.seconds)) s; saved to \(out)")
    }
}

/// `medcil train fine-tune`
struct TrainFineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fine-tune",
        abstract: "Sequential fine-tuning: a previous classifier, its head grown to the new site's classes, trained on the new site only."
    )

    @Option(help: "The previous classifier's folder.")
    var from: String

    @Option(help: "The new site's converted dataset folder.")
    var shards: String

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let (previous, model) = try ModelBundle.load(from: URL(fileURLWithPath: from))
        let folder = URL(fileURLWithPath: shards)
        let train = try ShardDataset(folder: folder, split: "train"), validation = try ShardDataset(folder: folder, split: "val")
        let taxonomy = train.description.classes
        let union = Array(Set(previous.spec.classes + siteClasses(train.description))).sorted { taxonomy[$0]! < taxonomy[$1]! }
        let map = Dictionary(uniqueKeysWithValues: union.enumerated().map { (taxonomy[$1]!, $0) })
        let settings = try training.settings()
        NeuralNetRandom.seed(settings.seed)
        let expanded = try ClassifierSurgery.expandHead(of: model, spec: previous.spec, to: union)
        var trainer = ClassifierTrainer(settings: settings)
        TrainingDisplay.attach(&trainer, label: "fine-tune \(train.description.site)", epochs: settings.epochs, mode: shared.progress.mode)
        let outcome = try trainer.train(expanded, on: ConcatDataset([train], labelMap: map), validation: ConcatDataset([validation], labelMap: map))
        var normalization = previous.normalization
        normalization[train.description.site] = [train.description.normalization.mean, train.description.normalization.std]
        let bundle = ModelBundle(spec: previous.spec.withClasses(union), sites: previous.sites + [train.description.site], normalization: normalization,
                                 settings: settings, outcome: outcome, initialisedFrom: URL(fileURLWithPath: from).lastPathComponent)
        try bundle.save(expanded, to: URL(fileURLWithPath: out))
        try writeResolvedSettings(settings, to: URL(fileURLWithPath: out))
        print("fine-tuned on \(train.description.site) (\(union.count) classes now); saved to \(out)")
    }
}
