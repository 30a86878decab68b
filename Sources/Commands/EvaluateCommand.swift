import ArgumentParser
import Foundation
import Incremental

/// `medcil evaluate --run DIR`
struct EvaluateRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Metrics and the HTML report of a run, computed from its saved predictions.",
        discussion: """
        Reads run.json and the prediction CSVs of every method and step, and writes metrics.json (per-class \
        precision/recall/F1, accuracy, macro-F1 per site and pooled, confusion matrices, the task-by-task accuracy \
        matrix with average incremental accuracy, forgetting and BWT, training time of every stage, mean expert \
        weights per site) and report.html. Running it again gives the same numbers.
        """
    )

    @Option(name: .customLong("run"), help: "Run folder (with run.json and predictions/).")
    var runFolder: String

    @Option(help: "Where to write metrics.json and report.html (default: the run folder).")
    var out: String?

    func run() throws {
        let folder = URL(fileURLWithPath: runFolder)
        let target = URL(fileURLWithPath: out ?? runFolder)
        let evaluation = try RunEvaluation.compute(run: folder)
        try evaluation.save(to: target)
        try HTMLReport.write(evaluation, run: folder, to: target.appendingPathComponent("report.html"))
        print(evaluation.comparisonTable)
        print("\nmetrics: \(target.appendingPathComponent("metrics.json").path)\nreport:  \(target.appendingPathComponent("report.html").path)")
    }
}
