import ArgumentParser
import Foundation
import Ingest
import Segmentation
import Support
import TensorCore
import Training
import Workflows

/// `medcil seg`: incremental segmentation of new anatomical structures (Ozdemir et al. 2018).
struct Seg: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train, extend, evaluate and apply segmentation networks on converted MR sites (LwfSeg, AeiSeg, CoRiSeg).",
        discussion: """
        Each step reads one site's converted shard folder (medcil convert mr):
          medcil seg train --data shards/phantom-mr-a --out models/base
          medcil seg increment --method coriseg --model models/base --data shards/phantom-mr-b --out models/inc
          medcil seg evaluate --model models/inc --data shards/phantom-mr-a --data shards/phantom-mr-b --before models/base --out eval
          medcil seg predict --model models/inc --data shards/phantom-mr-a --input volume.nii.gz --output labels.nii.gz
        Methods: \(SegmentationMethodRegistry.builtIn.entries.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).
        A killed train or increment continues from its last finished epoch when the same command runs again (OUT/resume).
        """,
        subcommands: [SegTrain.self, SegIncrement.self, SegEvaluate.self, SegPredictCommand.self]
    )
}

/// Settings: command line > --config file > the preset.
struct SegSettingsOptions: ParsableArguments {
    @Option(help: "YAML settings (keys: base, dropout, epochs, batch_size, learning_rate, alpha, exemplar_ratio, augment, validate, patience, seed, exemplars.{capacity,representatives,candidates,monte_carlo_passes}, vgg16, vgg16_input_size, largest_component).")
    var config: String?

    @Flag(help: "Start from the CPU preset (width 8, 12 epochs, small exemplar sets) instead of the paper's settings.")
    var quick = false

    @Option(help: "Epochs.") var epochs: Int?
    @Option(help: "U-Net width of the first level (paper 64).") var base: Int?
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(help: "VGG16 safetensors (scripts/convert_vgg16.py) for CoRiSeg's content distance; without it the U-Net's own encoder.")
    var vgg16: String?

    func resolve() throws -> SegmentationSettings {
        var settings: SegmentationSettings = quick ? .quick : .paper
        if let config { settings = try ConfigLoader.load(SegmentationSettings.self, from: URL(fileURLWithPath: config), over: settings) }
        if let epochs { settings.epochs = epochs }
        if let base { settings.base = base }
        if let seed { settings.seed = seed }
        if let vgg16 { settings.vgg16 = vgg16 }
        return try settings.validated()
    }
}

/// Runs `body`, turning the library's errors into one line on stderr and exit status 1.
func runSeg(_ name: String, shared: SharedOptions, _ body: () throws -> Void) throws {
    Parallel.threads = shared.workerCount
    do { try body() } catch let error as SegmentationError {
        printError("medcil seg \(name): \(error)"); throw ExitCode(1)
    } catch let error as ConfigError {
        printError("medcil seg \(name): \(error)"); throw ExitCode(1)
    }
}

/// One line per epoch (none with --progress off).
func epochPrinter(_ shared: SharedOptions) -> (EpochRecord, Bool) -> Void {
    guard shared.progress != .off else { return { _, _ in } }
    return { record, resumed in
        print("epoch \(record.epoch + 1)\(resumed ? " (resumed)" : "")  loss " + String(format: "%.4f", record.trainLoss)
              + "  val Dice " + (record.validationAccuracy.map { String(format: "%.3f", $0) } ?? "-"))
    }
}

struct SegTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train a network on one site's annotated structures, keeping exemplars.")
    @OptionGroup var shared: SharedOptions
    @OptionGroup var settings: SegSettingsOptions
    @Option(help: "The site's converted shard folder (with dataset.json).") var data: String
    @Option(help: "Output model folder.") var out: String
    @Option(help: "Exemplar rules to keep for later increments (comma-separated: \(ExemplarRule.allCases.map(\.rawValue).joined(separator: ", ")); 'none' for none).")
    var exemplars = ExemplarRule.allCases.map(\.rawValue).joined(separator: ",")

    func run() throws {
        try runSeg("train", shared: shared) {
            let rules: [ExemplarRule] = try exemplars == "none" ? [] : exemplars.split(separator: ",").map { name -> ExemplarRule in
                guard let rule = ExemplarRule(rawValue: String(name)) else { throw SegmentationError.invalid("unknown exemplar rule '\(name)'") }
                return rule
            }
            var run = SegmentationRun(settings: try settings.resolve())
            run.onEpoch = epochPrinter(shared)
            let model = try run.train(data: URL(fileURLWithPath: data), out: URL(fileURLWithPath: out), rules: rules)
            print("model: \(model.description.heads.map { $0.structures.joined(separator: "+") }.joined(separator: ", ")) -> \(out)")
        }
    }
}

struct SegIncrement: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "increment", abstract: "Extend a model with the structures another site annotates.")
    @OptionGroup var shared: SharedOptions
    @OptionGroup var settings: SegSettingsOptions
    @Option(help: "Method: \(SegmentationMethodRegistry.builtIn.names.joined(separator: ", ")).") var method: String
    @Option(help: "The previous model folder.") var model: String
    @Option(help: "The new site's converted shard folder.") var data: String
    @Option(help: "Output model folder.") var out: String
    @Option(help: "The old site's shard folder (joint only).") var oldData: String?
    @Option(help: "Use only the first N training volumes of the new site.") var volumes: Int?

    func run() throws {
        try runSeg("increment", shared: shared) {
            var run = SegmentationRun(settings: try settings.resolve())
            run.onEpoch = epochPrinter(shared)
            let result = try run.increment(previous: URL(fileURLWithPath: model), data: URL(fileURLWithPath: data),
                                           method: try SegmentationMethodRegistry.builtIn.entry(method), out: URL(fileURLWithPath: out),
                                           oldData: oldData.map { URL(fileURLWithPath: $0) }, volumes: volumes)
            print("model: \(result.structures.joined(separator: ", ")) -> \(out)")
            for (rule, used) in result.description.exemplarSelections { print("exemplars \(rule): \(result.memories[rule]?.count ?? 0) slices (\(used))") }
        }
    }
}

struct SegEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate",
                                                    abstract: "Per-volume Dice, ASSD and HD95 (mm) on sites' test volumes, and forgetting against the pre-increment model.")
    @OptionGroup var shared: SharedOptions
    @Option(help: "Model folder.") var model: String
    @Option(help: "A converted site folder (repeat for several sites).") var data: [String]
    @Option(help: "The model before the increment (for forgetting).") var before: String?
    @Option(help: "Split to score.") var split = "test"
    @Option(help: "Output folder (evaluation.csv, evaluation.json).") var out: String
    @Flag(help: "Keep only the largest connected component of each structure.") var largestComponent = false

    func run() throws {
        try runSeg("evaluate", shared: shared) {
            let loaded = try SegmentationModel.load(from: URL(fileURLWithPath: model))
            let sets = try data.map { try SliceSet.load(folder: URL(fileURLWithPath: $0), split: split) }
            let report = try SegmentationAssessment.evaluate(model: loaded, data: sets,
                                                             before: try before.map { try SegmentationModel.load(from: URL(fileURLWithPath: $0)) },
                                                             largestComponent: largestComponent)
            try SegmentationAssessment.write(report, to: URL(fileURLWithPath: out))
            for s in report.summaries {
                print(String(format: "%@ %@ (%@): %d volumes, Dice %.3f, ASSD %.2f mm, HD95 %.2f mm%@", s.site, s.structure, s.role, s.volumes,
                             s.dice, s.assd, s.hd95, s.forgetting.map { String(format: ", forgetting %.3f", $0) } ?? ""))
            }
            print("written: \(out)/evaluation.csv, evaluation.json")
        }
    }
}

struct SegPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predict",
                                                    abstract: "NIfTI volume in, NIfTI label map (canonical class indices) out, in the input's shape and affine.")
    @OptionGroup var shared: SharedOptions
    @Option(help: "Model folder.") var model: String
    @Option(help: "The converted site folder whose slice preparation (dataset.json) the volume gets.") var data: String
    @Option(help: "Input volume (.nii or .nii.gz).") var input: String
    @Option(help: "Output label map (.nii or .nii.gz).") var output: String

    func run() throws {
        try runSeg("predict", shared: shared) {
            let predictor = try SegPredict(model: try SegmentationModel.load(from: URL(fileURLWithPath: model)), data: URL(fileURLWithPath: data))
            do {
                let report = try predictor.predict(input: URL(fileURLWithPath: input), output: URL(fileURLWithPath: output))
                print("\(output): shape \(report.storedShape), \(report.slices) slices; voxels per label \(report.labelCounts.sorted { $0.key < $1.key })")
            } catch let error as VolumePredictionError {
                throw SegmentationError.invalid("\(error)")
            }
        }
    }
}
