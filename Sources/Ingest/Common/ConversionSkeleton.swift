import ArrayFiles
import Console
import Foundation
import Support

/// The one conversion skeleton every dataset kind runs through:
/// workspace -> plan -> convert units in parallel (reusing records whose fingerprint still
/// matches) -> finish -> prune stale outputs -> write dataset.json, manifest.csv,
/// report.json, config.resolved.yaml and report.txt atomically -> summary.
enum ConversionSkeleton {
    static func run<Converter: DatasetConverter>(_ converter: Converter) throws -> ConversionSummary<Converter.Description, Converter.Report> {
        let started = Date()
        let config = converter.config
        let request = converter.request
        let workspace = try ConversionWorkspace(outputRoot: request.outputRoot, dataset: config.dataset, stateRoot: request.stateRoot,
                                                saltFile: config.privacy.saltFile)
        let plan = try converter.plan(in: workspace)

        let vocabulary = Converter.vocabulary
        let records = ResumeRecords(workspace: workspace)
        let count = converter.unitCount(plan)
        let progress = ProgressReporter(label: vocabulary.label, total: count, unit: vocabulary.unit + "s", mode: request.progressMode)
        let outcomes: [UnitOutcome<Converter.Record>] = parallelMap(count, workers: request.workers) { unit in
            let outcome = convertOne(converter, unit: unit, plan: plan, records: records, workspace: workspace)
            progress.advance(counters: [vocabulary.workCounter: Double(outcome.reused ? 0 : outcome.record.map(converter.work) ?? 0)])
            return outcome
        }
        progress.finish()

        return try complete(converter, plan: plan, outcomes: outcomes, workspace: workspace, started: started)
    }

    /// The last phase, shared by a whole run and the merge of a sharded one: finish, prune
    /// stale outputs, write the five files atomically, summarise.
    static func complete<Converter: DatasetConverter>(_ converter: Converter, plan: Converter.Plan, outcomes: [UnitOutcome<Converter.Record>],
                                                      workspace: ConversionWorkspace, started: Date) throws -> ConversionSummary<Converter.Description, Converter.Report> {
        let result = try converter.finish(plan: plan, outcomes: outcomes, workspace: workspace)
        let pruned = pruneStaleOutputs(in: workspace.datasetDirectory, keep: result.keep, keepNames: result.keepNames)
        let folder = workspace.datasetDirectory
        try AtomicFile.write(try StableJSON.encode(result.description), to: folder.appendingPathComponent("dataset.json"))
        try AtomicFile.write(Data(result.manifest.utf8), to: folder.appendingPathComponent("manifest.csv"))
        try AtomicFile.write(try StableJSON.encode(result.report), to: folder.appendingPathComponent("report.json"))
        try AtomicFile.write(Data(try resolvedConfigText(converter.config).utf8), to: folder.appendingPathComponent("config.resolved.yaml"))
        try AtomicFile.write(Data((result.reportText + "\n").utf8), to: folder.appendingPathComponent("report.txt"))

        let fresh = outcomes.filter { $0.record != nil && !$0.reused }
        return ConversionSummary(
            datasetDirectory: folder, description: result.description, report: result.report, reportText: result.reportText,
            vocabulary: Converter.vocabulary, seconds: Date().timeIntervalSince(started), throughputUnits: result.throughputUnits,
            converted: fresh.count, reused: outcomes.filter(\.reused).count,
            work: fresh.reduce(0) { $0 + converter.work($1.record!) }, prunedOutputs: pruned,
            notConverted: result.notConverted)
    }

    /// One unit: its record when the fingerprint still matches and its outputs exist, else a
    /// fresh conversion whose record is saved once its outputs are written. Every error is
    /// caught here and becomes the unit's outcome.
    static func convertOne<Converter: DatasetConverter>(_ converter: Converter, unit: Int, plan: Converter.Plan,
                                                                records: ResumeRecords, workspace: ConversionWorkspace) -> UnitOutcome<Converter.Record> {
        let (key, fingerprint) = converter.resumeKey(unit: unit, plan: plan, workspace: workspace)
        if let record = records.reusable(Converter.Record.self, key: key, fingerprint: fingerprint) {
            return UnitOutcome(record: record, reused: true)
        }
        do {
            let record = try converter.convert(unit: unit, plan: plan, key: key, fingerprint: fingerprint, workspace: workspace)
            try records.save(record, key: key)
            return UnitOutcome(record: record)
        } catch {
            return UnitOutcome(error: error)
        }
    }

    /// Removes `.npy` files in the split folders that the current input no longer produces
    /// (a source was removed or moved to another split). Returns how many were removed.
    private static func pruneStaleOutputs(in folder: URL, keep: Set<String>, keepNames: Set<String>) -> Int {
        var removed = 0
        for split in SplitAssigner.splitNames {
            let splitFolder = folder.appendingPathComponent(split)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: splitFolder.path) else { continue }
            for name in names where name.hasSuffix(".npy") && !keep.contains("\(split)/\(name)") && !keepNames.contains(name) {
                if (try? FileManager.default.removeItem(at: splitFolder.appendingPathComponent(name))) != nil { removed += 1 }
            }
        }
        return removed
    }

    /// The resolved converter as written next to the data, without the salt file's location
    /// (`withoutSaltLocation`); a comment says one was given, so a rerun knows to pass it again.
    static func resolvedConfigText<Config: ConverterSettings>(_ config: Config) throws -> String {
        let note = config.privacy.saltFile != nil ? "# privacy.salt_file was given; its location is private state and is not written here.\n" : ""
        return note + (try ConfigLoader.yaml(config.withoutSaltLocation))
    }
}
