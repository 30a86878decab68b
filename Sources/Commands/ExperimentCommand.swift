import ArgumentParser
import Console
import DataLoading
import Foundation
import Incremental
import Support
import TensorCore

/// `medcil experiment run`
struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the multi-site class-incremental comparison end to end on converted site datasets.",
        subcommands: [ExperimentRun.self]
    )
}

struct ExperimentRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Base classifier, experts, SF / nmd-wSF / attn-wSF and the untrained fusions, Combine & Retrain and fine-tuning; then evaluate.",
        discussion: """
        Sites arrive in the order given (the first is the base site). Settings come from --config (YAML with keys \
        classifier, base, expert, combined, fine_tune, fusion, feature_passes, methods); the defaults are the seed's \
        (ResNet-18 width 64, 200 epochs...), which take days on a CPU: scale them down for a first look. Writes \
        models/, features/, fusion/, predictions/, run.json, config.resolved.yaml, metrics.json and report.html under --out.
        """
    )

    @Option(parsing: .upToNextOption, help: "Converted dataset folders, in arrival order.")
    var sites: [String]

    @Option(help: "Run folder.")
    var out: String

    @Option(help: "Experiment settings (YAML).")
    var config: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard sites.count >= 2 else { throw ValidationError("--sites needs the base site and at least one more") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        var settings = ExperimentSettings()
        if let config { settings = try ConfigLoader.load(ExperimentSettings.self, from: URL(fileURLWithPath: config), over: settings) }
        try runExperiment(sites: sites.map { URL(fileURLWithPath: $0) }, settings: settings, folder: URL(fileURLWithPath: out),
                          progress: shared.progress.mode)
    }
}

/// Runs the experiment, writes the resolved settings, evaluates, and prints the comparison.
@discardableResult
func runExperiment(sites: [URL], settings: ExperimentSettings, folder: URL, progress mode: ProgressReporter.Mode) throws -> RunEvaluation {
    for site in sites { _ = try ShardDescription.load(from: site) }  // a wrong folder fails before anything is written
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try Data(try ConfigLoader.yaml(settings).utf8).write(to: folder.appendingPathComponent("config.resolved.yaml"))
    let experiment = WeightedExpertsExperiment(sites: sites, settings: settings, folder: folder)
    // One bar per stage, created when the stage reports its start (done 0), so that its rate
    // and ETA count from there.
    var bars: [String: (reporter: ProgressReporter, done: Int)] = [:]
    experiment.progress = { label, done, total in
        if bars[label] == nil { bars[label] = (ProgressReporter(label: "  " + label, total: total, unit: "steps", mode: mode), 0) }
        guard let (reporter, before) = bars[label] else { return }
        reporter.setTotal(total)
        if done > before { reporter.advance(by: done - before) }
        bars[label]!.done = max(done, before)
        if done >= total { reporter.finish(); bars[label] = nil }
    }
    _ = try experiment.run()
    let evaluation = try RunEvaluation.compute(run: folder)
    try evaluation.save(to: folder)
    try HTMLReport.write(evaluation, run: folder, to: folder.appendingPathComponent("report.html"))
    return evaluation
}
