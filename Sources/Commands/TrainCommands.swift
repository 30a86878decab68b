import ArgumentParser
import ArrayFiles
import Console
import DataLoading
import Foundation
import Incremental
import NeuralNet
import Support
import TensorCore
import Training

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
        Baselines: medcil train \(CombinedRetrain.commandName) (all sites pooled), medcil train \(FineTuning.commandName) (sequential, \
        per-class heads as Bransby et al. 2024; first site without --from), --full-head: MedCIL's variant \(FullHeadFineTuning.commandName) (one growing head, nothing frozen).
        A killed training continues from its last finished epoch when the same command runs again (the checkpoint is in OUT/resume).
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

    @Option(help: "Epochs (default 200, as Bransby et al. 2024).")
    var epochs: Int?

    @Option(help: "Batch size (default 64).")
    var batchSize: Int?

    @Option(help: "Adam learning rate (default 1e-3).")
    var learningRate: Double?

    @Option(help: "Random seed of initialisation, shuffling and augmentation (default 10).")
    var seed: UInt64?

    @Flag(help: "No augmentation (the default rotates, flips and jitters brightness/contrast).")
    var noAugment = false

    @Option(help: "Architecture: \(ClassifierSpec.Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var architecture: ClassifierSpec.Architecture = .resnet18

    @Option(help: "Network width (ResNet base channels; Bransby et al. 2024 use 64).")
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
enum TrainingDisplay {
    static func make(label: String, epochs: Int, mode: ProgressReporter.Mode) -> StepByStep.Display {
        var bar: ProgressReporter?
        return StepByStep.Display(onEpoch: { r in
            print(String(format: "%@ epoch %d/%d: loss %.4f, train accuracy %.3f%@ (%.1f s)", label, r.epoch + 1, epochs, r.trainLoss,
                         r.trainAccuracy, r.validationAccuracy.map { String(format: ", validation accuracy %.3f", $0) } ?? "", r.seconds))
        }, onBatch: { done, total in
            if bar == nil { bar = ProgressReporter(label: label, total: total, unit: "batches", mode: mode) }
            bar?.advance()
            if done == total { bar?.finish(); bar = nil }
        }, onResume: { done in
            print("\(label): continuing after epoch \(done) of \(epochs) from the checkpoint in OUT/resume")
        })
    }
}

/// `medcil train classifier`
struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train the base site's view classifier on its shards (best validation epoch kept; NMF computed for fusion)."
    )

    @Option(help: "The site's converted dataset folder (with dataset.json).")
    var shards: String

    @Option(help: "Output folder (model.safetensors, model.json, nmf.npy, config.resolved.yaml; resume/ while training).")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let settings = try training.settings()
        let outcome = try StepByStep.baseClassifier(shards: URL(fileURLWithPath: shards), architecture: training.architecture, width: training.width,
                                                    settings: settings, out: URL(fileURLWithPath: out),
                                                    display: TrainingDisplay.make(label: "train", epochs: settings.epochs, mode: shared.progress.mode))
        print("best epoch \(outcome.bestEpoch + 1), validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)), \(String(format: "%.1f", outcome.seconds)) s; saved to \(out)")
    }
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
        let settings = try training.settings()
        let outcome = try StepByStep.expert(base: URL(fileURLWithPath: base), shards: URL(fileURLWithPath: shards), settings: settings,
                                            out: URL(fileURLWithPath: out),
                                            display: TrainingDisplay.make(label: "expert", epochs: settings.epochs, mode: shared.progress.mode))
        print("expert: best epoch \(outcome.bestEpoch + 1), validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)); saved to \(out)")
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

    @Option(help: "Epochs (default 50, as Bransby et al. 2024).")
    var epochs: Int = 50

    @Option(help: "Random seed.")
    var seed: UInt64 = 10

    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        var settings = ScoreFusion.Settings()
        settings.epochs = epochs
        settings.seed = seed
        let (network, outcome) = try StepByStep.fusion(method: method, features: features.map { URL(fileURLWithPath: $0) },
                                                       validation: validation.map { URL(fileURLWithPath: $0) }, settings: settings,
                                                       out: URL(fileURLWithPath: out)) { record in
            print(String(format: "%@ epoch %d/%d: train accuracy %.3f%@", method.rawValue, record.epoch + 1, epochs, record.trainAccuracy,
                         record.validationAccuracy.map { String(format: ", validation accuracy %.3f", $0) } ?? ""))
        }
        if let network, let outcome {
            print("\(method.rawValue): \(network.parameterCount) parameters, best epoch \(outcome.bestEpoch + 1); saved to \(out)")
        } else {
            print("\(method.rawValue) needs no training; its description is in \(out)")
        }
    }
}

/// `medcil train combined`
struct TrainCombined: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: CombinedRetrain.commandName,
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
        let settings = try training.settings()
        let (classes, outcome) = try StepByStep.combined(shards: shards.map { URL(fileURLWithPath: $0) }, architecture: training.architecture,
                                                         width: training.width, settings: settings, out: URL(fileURLWithPath: out),
                                                         display: TrainingDisplay.make(label: CombinedRetrain.commandName, epochs: settings.epochs, mode: shared.progress.mode))
        print("combined classifier over \(classes) classes: best epoch \(outcome.bestEpoch + 1), \(String(format: "%.1f", outcome.seconds)) s; saved to \(out)")
    }
}

/// `medcil train fine-tune`
struct TrainFineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: FineTuning.commandName,
        abstract: "Sequential fine-tuning as Bransby et al. 2024: one bias-free head per class, trained on the new site over its classes only, other heads frozen.",
        discussion: """
        The first site: no --from (a fresh network of --architecture and --width). Each later site: --from the previous site's output.
        --full-head runs MedCIL's variant (\(FullHeadFineTuning.commandName)) instead: --from a classifier (the base classifier, or \
        the previous step's), its one head with bias grown to the new site's classes, cross-entropy over every class, nothing frozen.
        """
    )

    @Option(help: "The previous fine-tuned model's folder (none for the first site).")
    var from: String?

    @Flag(help: "MedCIL's full-head variant instead of per-class heads (needs --from).")
    var fullHead = false

    @Option(help: "The new site's converted dataset folder.")
    var shards: String

    @Option(help: "Output folder.")
    var out: String

    @OptionGroup var training: TrainingOptions
    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if fullHead && from == nil { throw ValidationError("--full-head needs --from (the classifier to grow)") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        let settings = try training.settings()
        let display = TrainingDisplay.make(label: FineTuning.commandName, epochs: settings.epochs, mode: shared.progress.mode)
        if fullHead, let from {
            let (classes, _) = try StepByStep.fineTuneFullHead(from: URL(fileURLWithPath: from), shards: URL(fileURLWithPath: shards),
                                                               settings: settings, out: URL(fileURLWithPath: out), display: display)
            print("fine-tuned, full head (\(classes) classes now); saved to \(out)")
            return
        }
        let (classes, _) = try StepByStep.fineTune(from: from.map { URL(fileURLWithPath: $0) }, shards: URL(fileURLWithPath: shards),
                                                   architecture: training.architecture, width: training.width, settings: settings,
                                                   out: URL(fileURLWithPath: out), display: display)
        print("fine-tuned (\(classes) classes trained so far); saved to \(out)")
    }
}
