import ArgumentParser
import ClassIncremental
import Foundation
import Support
import TensorCore

/// `medcil cil run|synthesize`: data-free class-incremental learning (Class Impression, CCSI)
/// and its baselines on classification shards or MedMNIST .npz files.
struct CIL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cil",
        abstract: "Data-free class-incremental learning (CCSI, Class Impression) and baselines, one task after another.",
        subcommands: [CILRun.self, CILSynthesize.self]
    )
}

struct CILRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a class-incremental sequence with every method it names (\(MethodRegistry.builtIn.names.joined(separator: ", "))).",
        discussion: """
        The sequence (YAML) names the dataset (kind: shards or npz, path relative to the YAML), the class_order, the \
        task_sizes (e.g. [2, 2, 2, 2]), image_size and padding, the seed, the methods, and training, synthesis and update \
        settings with per-task task_overrides; fixtures/digits-shards/sequence.yaml is an example. A checkpoint is written \
        after every task (<out>/<method>/task-<t>/model.safetensors with PyTorch keys, class_means.npy, task.json); \
        --resume continues a killed run from its last finished task. Writes config.resolved.yaml, results.json, results.md \
        and report.html.
        """
    )

    @Option(help: "Sequence config (YAML).")
    var config: String

    @Option(help: "Run folder.")
    var out: String

    @Flag(help: "Continue the run in --out from its last finished task.")
    var resume = false

    @Flag(help: "The 2-core preset: 16x16 inputs, few epochs, short synthesis (see the README for its cost on digits).")
    var quick = false

    @Flag(help: "The reference's settings: 32x32, 100 epochs, 16/24/30 synthetic batches of 5000 Adam steps (days on 2 cores, see the README).")
    var full = false

    @Option(help: "Random seed (overrides the file's seed).")
    var seed: UInt64?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if quick && full { throw ValidationError("--quick and --full are two presets: give one") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        let url = URL(fileURLWithPath: config)
        // Command line > file > defaults: --quick overrides what the file sets.
        var settings = try ConfigLoader.load(SequenceConfig.self, from: url, over: SequenceConfig())
        if quick { settings.applyQuick() }
        if full { settings.applyFull() }
        if let seed { settings.seed = seed }
        if let threads = shared.threads { settings.workers = threads }
        let run = try SequenceRun(config: settings, configFolder: url.deletingLastPathComponent(), out: URL(fileURLWithPath: out), resume: resume)
        let results = try run.run()
        print("\n" + results.table + "\n\n" + SequenceResults.definitions + "\n" + results.details)
        print("report: \(URL(fileURLWithPath: out).appendingPathComponent("report.html").path)")
    }
}

struct CILSynthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesize",
        abstract: "Write a model's class impressions: .npy and a PNG grid per class, beside its stored class means.",
        discussion: """
        --model is a task folder of `medcil cil run` (<run>/<method>/task-<t>, holding model.safetensors and \
        class_means.npy); the run's config.resolved.yaml two levels up gives the synthesis settings.
        """
    )

    @Option(help: "Task folder of a run (<run>/<method>/task-<t>).")
    var model: String

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Images per class.")
    var perClass: Int = 16

    @Option(help: "Adam steps (default: the run's synthesis.iterations).")
    var iterations: Int?

    @OptionGroup var shared: SharedOptions

    func run() throws {
        Parallel.threads = shared.workerCount
        let folder = URL(fileURLWithPath: model)
        let run = folder.deletingLastPathComponent().deletingLastPathComponent()
        var config = try ConfigLoader.load(SequenceConfig.self, from: run.appendingPathComponent("config.resolved.yaml"), over: SequenceConfig())
        if let iterations { config.synthesis.iterations = iterations }
        let written = try ImpressionExport.write(taskFolder: folder, config: config, perClass: perClass, out: URL(fileURLWithPath: out),
                                                 workers: shared.workerCount)
        print("wrote \(written) impressions to \(out)")
    }
}
