import ArgumentParser
import Console
import Foundation
import Incremental
import Metrics
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
        abstract: "The base classifier, then every registered method site by site (\(MethodRegistry.builtIn.names.joined(separator: ", "))); then evaluate.",
        discussion: """
        Sites arrive in the order given (the first is the base site). Settings come from --config (YAML with keys \
        classifier, base, expert, combined, fine_tune, fusion, feature_passes, methods); the defaults are those of Bransby et al. 2024 \
        (ResNet-18 width 64, 200 epochs...), which take days on a CPU: scale them down for a first look. Writes \
        models/, features/, fusion/, predictions/, run.json, config.resolved.yaml, metrics.json and report.html under --out. \
        A killed run continues when the same command runs again: finished stages are kept, an interrupted one resumes \
        from its last finished epoch.
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

/// Runs (or continues) the experiment with a progress bar per stage, then evaluates it.
@discardableResult
func runExperiment(sites: [URL], settings: ExperimentSettings, folder: URL, progress mode: ProgressReporter.Mode) throws -> RunEvaluation {
    let experiment = IncrementalExperiment(sites: sites, settings: settings, folder: folder)
    experiment.progress = StageBars(mode: mode).report
    return try experiment.runAndEvaluate()
}

/// One bar per stage, created when the stage reports its start (done 0), so that its rate and
/// ETA count from there.
final class StageBars {
    let mode: ProgressReporter.Mode
    var bars: [String: (reporter: ProgressReporter, done: Int)] = [:]

    init(mode: ProgressReporter.Mode) { self.mode = mode }

    func report(_ label: String, _ done: Int, _ total: Int) {
        if bars[label] == nil { bars[label] = (ProgressReporter(label: "  " + label, total: total, unit: "steps", mode: mode), 0) }
        guard let (reporter, before) = bars[label] else { return }
        reporter.setTotal(total)
        if done > before { reporter.advance(by: done - before) }
        bars[label]!.done = max(done, before)
        if done >= total { reporter.finish(); bars[label] = nil }
    }
}
