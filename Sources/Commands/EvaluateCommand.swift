import ArgumentParser
import Foundation
import Incremental
import Metrics
import Reporting
import TensorCore

/// `medcil evaluate --run DIR`, or one model on its test data: `--fusion DIR --features ...`
/// (a fusion trained step by step on exported features) or `--classifier DIR --shards ...`.
struct EvaluateRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Metrics and the HTML report of a run, computed from its saved predictions; or one model's predictions and metrics.",
        discussion: """
        With --run: reads run.json and the prediction CSVs of every method and step, and writes metrics.json \
        (per-class precision/recall/F1, accuracy, macro-F1 per site and pooled, confusion matrices, the task-by-task \
        accuracy matrix with average incremental accuracy, forgetting and BWT, training time of every stage, mean \
        expert weights per site) and report.html. Running it again gives the same numbers.

        With --fusion and --features (exported test features of every site, through the fusion's experts), or \
        --classifier and --shards (the sites' converted datasets; their test split): writes predictions.csv (one row \
        per sample, with each expert's weight) and metrics.json (per site and pooled, mean expert weight per site) \
        into --out, and prints the table.
        """
    )

    @Option(name: .customLong("run"), help: "Run folder (with run.json and predictions/).")
    var runFolder: String?

    @Option(help: "A fusion folder written by `medcil train fusion` (fusion.json).")
    var fusion: String?

    @Option(parsing: .upToNextOption, help: "With --fusion: exported test feature folders (`medcil features export --split test`).")
    var features: [String] = []

    @Option(help: "A classifier folder (model.safetensors, model.json): base, expert, combined or fine-tuned.")
    var classifier: String?

    @Option(parsing: .upToNextOption, help: "With --classifier: the sites' converted dataset folders (their test split is used).")
    var shards: [String] = []

    @Option(help: "Split of the shards to evaluate on, with --classifier.")
    var split: String = "test"

    @Option(help: "Where to write the outputs (default with --run: the run folder; required otherwise).")
    var out: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        let modes = [runFolder != nil, fusion != nil, classifier != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give one of --run, --fusion or --classifier") }
        if fusion != nil, features.isEmpty { throw ValidationError("--fusion needs --features (exported test features)") }
        if classifier != nil, shards.isEmpty { throw ValidationError("--classifier needs --shards (converted datasets)") }
        if !features.isEmpty, fusion == nil { throw ValidationError("--features goes with --fusion") }
        if !shards.isEmpty, classifier == nil { throw ValidationError("--shards goes with --classifier") }
        if runFolder == nil, out == nil { throw ValidationError("--out is required with --fusion or --classifier") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        if let runFolder {
            let folder = URL(fileURLWithPath: runFolder)
            let target = URL(fileURLWithPath: out ?? runFolder)
            let evaluation = try RunReport.write(run: folder, to: target)
            print(evaluation.comparisonTable)
            print("\nmetrics: \(target.appendingPathComponent("metrics.json").path)\nreport:  \(target.appendingPathComponent("report.html").path)")
            return
        }
        let target = URL(fileURLWithPath: out!)
        let summary = try fusion.map { try ModelEvaluation.fusion(URL(fileURLWithPath: $0), features: features.map { URL(fileURLWithPath: $0) }, out: target) }
            ?? ModelEvaluation.classifier(URL(fileURLWithPath: classifier!), shards: shards.map { URL(fileURLWithPath: $0) }, split: split, out: target)
        print(summary.table)
        print("\npredictions: \(target.appendingPathComponent("predictions.csv").path)\nmetrics:     \(target.appendingPathComponent("metrics.json").path)")
    }
}
