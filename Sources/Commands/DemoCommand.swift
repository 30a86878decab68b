import ArgumentParser
import Console
import Foundation
import Incremental
import Support
import Workflows
import TensorCore

/// `medcil demo`: the main job on bundled phantom data.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job on bundled phantom data: every method family, from phantom exports through conversion to incrementally trained models, with their tables.",
        discussion: """
        Runs its parts in order (or the one named), each on phantom data it writes itself, then repeats each part's \
        table and the total time. The default settings are scaled so that all parts together finish inside 15 minutes \
        on 2 cores (each part prints its settings at its start); --full runs the reference works' settings, which take days on a CPU.

        experts: phantom echo exports of four sites (DICOM through DCMTK, broken files among them), converted with the \
        converters in converters/, then the multi-site class-incremental comparison of `medcil experiment run` with the \
        sites arriving in the order a, b, c, d (Bransby et al. 2024): base classifier, an expert per later site, the \
        score-fusion networks (sf, nmd-wsf, attn-wsf), the untrained fusions, Combine & Retrain and fine-tuning (per-class \
        heads), over --orders sample orders (run/order-<k>, each with its report), every method as mean ± sd \
        (experts-summary.md/.csv/.json). --config overrides single keys of its experiment settings.

        cil: a 4-task class-incremental sequence on the phantom echo views without stored images (Class Impression / \
        CCSI) beside fine-tune, lwf, icarl-ce and joint (cil/).

        seg: the phantom MR sites as the three cases of Ozdemir et al. 2018 (a new structure from another site, from \
        one annotated volume, from another MR contrast), every segmentation method, a table laid out like their Table 1 (seg/).

        Run again with the same --out after a kill, and training continues from its last finished stage or epoch.
        """
    )

    @Argument(help: ArgumentHelp("The part to run alone; all parts when omitted.",
                                 discussion: DemoWorkflow.parts.map { "\($0.name): \($0.summary)" }.joined(separator: "\n")))
    var part: String?

    @Option(help: "Output folder.")
    var out: String = "medcil-demo"

    @Option(help: "Folder with the site converters.")
    var converters: String = "converters"

    @Flag(help: "The reference works' settings (Bransby et al. 2024; the CCSI code for the cil part) instead of the 2-core ones.")
    var full = false

    @Option(help: "Phantom cines per view and site (default 10; 30 with --full).")
    var perView: Int?

    @Option(help: "Sample orders the experts part runs its experiment over, reported as mean ± sd (default 3).")
    var orders: Int?

    @Option(help: "Seed for the phantom data.")
    var seed: UInt64 = 7

    @Option(help: "Experiment settings (YAML) over the experts part's.")
    var config: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if let perView, perView < 6 {
            throw ValidationError("--per-view must be at least 6 (train, val and test each need patients of every view)")
        }
        guard FileManager.default.fileExists(atPath: converters) else {
            throw ValidationError("converter folder '\(converters)' not found: run from the repository root or pass --converters")
        }
        if let part, DemoWorkflow.part(named: part) == nil {
            throw ValidationError("unknown part '\(part)'; parts: \(DemoWorkflow.parts.map(\.name).joined(separator: ", "))")
        }
        if let orders, orders < 1 { throw ValidationError("--orders must be at least 1") }
        if let config, !FileManager.default.fileExists(atPath: config) { throw ValidationError("--config \(config) not found") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        var context = DemoContext(out: URL(fileURLWithPath: out), converters: URL(fileURLWithPath: converters), seed: seed,
                                  workers: shared.workerCount, progressMode: shared.progress.mode, full: full)
        context.perView = perView
        context.orders = orders
        context.experimentConfig = config.map { URL(fileURLWithPath: $0) }
        context.stageProgress = StageBars(mode: shared.progress.mode).report
        let demo = DemoWorkflow(context: context, only: part.map { [$0] } ?? [])
        try demo.run()
    }
}
