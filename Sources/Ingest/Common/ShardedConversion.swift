import ArrayFiles
import Console
import Foundation
import Support

/// A conversion split across machines that share a filesystem: `--plan-only` scans once and
/// stores the plan in the state folder; each `--shard I/N` converts its part of the units
/// (a patient's units stay in one part; parts balanced by estimated work) into the same
/// dataset folder, keeping its records, failures and status in the state folder; the merge
/// rebuilds the descriptions from all records with the same code a single run ends with
/// (`ConversionSkeleton.complete`), so its outputs are byte-identical to one machine's.
///
/// Statistics need no special care: every unit's record holds its exact integer (echo) or
/// per-slice (MR) sums, and `finish` adds them in unit order whichever part made them.
public enum ShardedConversion {
    /// What `--plan-only` did.
    public struct PlanSummary: Sendable {
        public var dataset: String
        public var units: Int
        /// Patients (echo) or subjects/volumes (MR): the groups that parts never split.
        public var groups: Int
        public var estimatedWork: Int
        public var seconds: Double
        public var planFile: URL
        public var text: String
    }

    /// What one `--shard I/N` run did.
    public struct PartSummary: Sendable {
        public var status: PartStatus
        public var seconds: Double
        public var text: String
    }

    // MARK: - plan

    static func planOnly<Converter: DatasetConverter>(_ converter: Converter, command: [String]) throws -> PlanSummary {
        let started = Date()
        let config = converter.config, request = converter.request
        let workspace = try ConversionWorkspace(outputRoot: request.outputRoot, dataset: config.dataset, stateRoot: request.stateRoot,
                                                saltFile: config.privacy.saltFile)
        let scan = try converter.scan()
        let plan = try converter.plan(from: scan, in: workspace)
        let units = converter.unitCount(plan)
        let keys = (0..<units).map { converter.partitionKey(unit: $0, plan: plan) }
        let stored = StoredPlan(kind: Converter.kind, dataset: config.dataset, configPath: request.configURL.standardizedFileURL.path,
                                inputPath: request.inputRoot.standardizedFileURL.path, config: config,
                                configDigest: DescriptionParts.configDigest(config), saltCheck: planSaltCheck(workspace.hasher),
                                command: command, units: units, scan: scan)
        try PlanFiles.save(stored, to: workspace.stateDirectory)
        let groups = Set(keys.map(\.group)).count, work = keys.reduce(0) { $0 + $1.work }
        let seconds = Date().timeIntervalSince(started)
        let unit = Converter.vocabulary.unit
        let text = """
            plan \(config.dataset): \(units) \(unit)s of \(groups) groups (patients or subjects; a part never splits one), \
            estimated work \(work) (\(Converter.kind == "echo" ? "frames x pixels" : "voxels"))
              planned in \(String(format: "%.2f", seconds)) s (headers and label sources only); plan: \(PlanFiles.plan(workspace.stateDirectory).path)
              next: each task runs \(PlanFiles.rerunCommand(command, part: try WorkPart(index: 1, count: 1)).replacingOccurrences(of: "--shard 1/1", with: "--shard I/N")), \
            then `medcil convert merge --out \(request.outputRoot.path)\(request.stateRoot.map { " --state " + $0.path } ?? "")`
            """
        return PlanSummary(dataset: config.dataset, units: units, groups: groups, estimatedWork: work, seconds: seconds,
                           planFile: PlanFiles.plan(workspace.stateDirectory), text: text)
    }

    /// The 0-based part of every unit of `plan` when split into `parts`.
    static func partition<Converter: DatasetConverter>(_ converter: Converter, plan: Converter.Plan, parts: Int) -> [Int] {
        let keys = (0..<converter.unitCount(plan)).map { converter.partitionKey(unit: $0, plan: plan) }
        return WorkPartition.assign(groups: keys.map(\.group), work: keys.map(\.work), parts: parts)
    }

    // MARK: - one part

    static func runPart<Converter: DatasetConverter>(_ converter: Converter, part: WorkPart) throws -> PartSummary {
        let started = Date()
        let config = converter.config, request = converter.request
        let stateDirectory = ConversionWorkspace.stateDirectory(outputRoot: request.outputRoot, dataset: config.dataset, stateRoot: request.stateRoot)
        let stored = try PlanFiles.load(Converter.Config.self, Converter.Scan.self, from: stateDirectory)
        let rerun = PlanFiles.rerunCommand(stored.command, part: part)
        guard stored.kind == Converter.kind else {
            throw IngestError.parts("the plan in \(stateDirectory.path) is for `convert \(stored.kind)`, not `convert \(Converter.kind)`")
        }
        guard stored.configDigest == DescriptionParts.configDigest(config), stored.inputPath == request.inputRoot.standardizedFileURL.path else {
            throw IngestError.parts("part \(part) was given other converter settings or another --input than its plan " +
                "(\(PlanFiles.plan(stateDirectory).path)): run it with the plan's arguments: \(rerun) (or plan again with --plan-only)")
        }
        let workspace = try ConversionWorkspace(outputRoot: request.outputRoot, dataset: config.dataset, stateRoot: request.stateRoot,
                                                saltFile: config.privacy.saltFile, removingTemporaries: false)
        guard planSaltCheck(workspace.hasher) == stored.saltCheck else {
            throw IngestError.parts("part \(part) sees another salt than its plan was made with: every part must use the plan's " +
                "state folder and salt file on the shared filesystem (give --state)")
        }
        let plan = try converter.plan(from: stored.scan, in: workspace)
        let assignment = partition(converter, plan: plan, parts: part.count)
        let mine = assignment.indices.filter { assignment[$0] == part.index - 1 }
        let writer = try PartStatusWriter(stateDirectory: workspace.stateDirectory, part: part, units: mine.count, rerun: rerun)

        let vocabulary = Converter.vocabulary
        let records = ResumeRecords(workspace: workspace)
        let failures = UnitFailures(directory: PlanFiles.failures(workspace.stateDirectory))
        let progress = ProgressReporter(label: "\(vocabulary.label) part \(part)", total: mine.count, unit: vocabulary.unit + "s",
                                        mode: request.progressMode)
        _ = parallelMap(mine.count, workers: request.workers) { k in
            let unit = mine[k]
            let outcome = ConversionSkeleton.convertOne(converter, unit: unit, plan: plan, records: records, workspace: workspace)
            let key = converter.resumeKey(unit: unit, plan: plan, workspace: workspace)
            if let error = outcome.error {
                var failure = converter.storedFailure(error)
                failure.fingerprint = key.fingerprint
                try? failures.save(failure, key: key.key)
            } else {
                failures.remove(key: key.key)
            }
            let work = outcome.reused ? 0 : outcome.record.map(converter.work) ?? 0
            writer.unitFinished(reused: outcome.reused, failed: outcome.record == nil, work: work)
            progress.advance(counters: [vocabulary.workCounter: Double(work)])
        }
        progress.finish()
        let status = try writer.end(.done)
        let seconds = Date().timeIntervalSince(started)
        let text = String(format: "part %@ of %@: %d %@s (%d converted, %d reused, %d failed), %d %@ in %.2f s (%@ %@/s)",
                          part.description, config.dataset, mine.count, vocabulary.unit, status.converted, status.reused, status.failedUnits,
                          status.work, vocabulary.work, seconds, ProgressReporter.rate(Double(status.work) / max(seconds, 1e-9)),
                          vocabulary.workCounter)
            + "\n  peak memory: \(PeakMemory.text) resident"
            + "\n  status: \(PartStatus.url(workspace.stateDirectory, part: part).path)"
        return PartSummary(status: status, seconds: seconds, text: text)
    }

    // MARK: - merge

    static func merge<Converter: DatasetConverter>(_ type: Converter.Type, stateDirectory: URL, outputRoot: URL, stateRoot: URL?,
                                                   workers: Int, progressMode: ProgressReporter.Mode) throws -> Converter.Summary {
        let started = Date()
        let stored = try PlanFiles.load(Converter.Config.self, Converter.Scan.self, from: stateDirectory)
        try stored.config.validate()
        let converter = Converter(config: stored.config, request: ConversionRequest(
            configURL: URL(fileURLWithPath: stored.configPath), inputRoot: URL(fileURLWithPath: stored.inputPath), outputRoot: outputRoot,
            stateRoot: stateRoot, workers: workers, progressMode: progressMode))
        let workspace = try ConversionWorkspace(outputRoot: outputRoot, dataset: stored.dataset, stateRoot: stateRoot,
                                                saltFile: stored.config.privacy.saltFile)
        guard planSaltCheck(workspace.hasher) == stored.saltCheck else {
            throw IngestError.parts("the state folder \(workspace.stateRoot.path) holds another salt than the plan was made with")
        }
        let plan = try converter.plan(from: stored.scan, in: workspace)
        let records = ResumeRecords(workspace: workspace)
        let failures = UnitFailures(directory: PlanFiles.failures(workspace.stateDirectory))
        var outcomes: [UnitOutcome<Converter.Record>] = []
        var missing: [Int] = []
        for unit in 0..<converter.unitCount(plan) {
            let (key, fingerprint) = converter.resumeKey(unit: unit, plan: plan, workspace: workspace)
            if let record = records.reusable(Converter.Record.self, key: key, fingerprint: fingerprint) {
                outcomes.append(UnitOutcome(record: record, reused: true))
            } else if let failure = failures.current(key: key, fingerprint: fingerprint) {
                outcomes.append(UnitOutcome(error: converter.restoredError(failure)))
            } else {
                missing.append(unit)
            }
        }
        if !missing.isEmpty {
            throw IngestError.parts(missingPartsMessage(converter, plan: plan, missing: missing, stored: stored.command,
                                                        stateDirectory: workspace.stateDirectory))
        }
        return try ConversionSkeleton.complete(converter, plan: plan, outcomes: outcomes, workspace: workspace, started: started)
    }

    /// Which parts lack units, in what state each is, and the command that reruns it.
    private static func missingPartsMessage<Converter: DatasetConverter>(_ converter: Converter, plan: Converter.Plan, missing: [Int],
                                                                         stored command: [String], stateDirectory: URL) -> String {
        let dataset = converter.config.dataset
        let statuses = PartStatus.all(in: stateDirectory)
        guard let latest = statuses.max(by: { $0.started < $1.started }) else {
            return "merge \(dataset): \(missing.count) of \(converter.unitCount(plan)) \(Converter.vocabulary.unit)s are not converted and " +
                "no part has run: run every part, e.g. \(PlanFiles.rerunCommand(command, part: try! WorkPart(index: 1, count: 1))) for one part"
        }
        let count = latest.part.count
        let assignment = partition(converter, plan: plan, parts: count)
        var lines = ["merge \(dataset): \(missing.count) \(Converter.vocabulary.unit)s of the plan are not converted; parts of \(count):"]
        for index in Set(missing.map { assignment[$0] }).sorted() {
            let part = try! WorkPart(index: index + 1, count: count)
            let lacking = missing.filter { assignment[$0] == index }.count
            let units = assignment.filter { $0 == index }.count
            let state: String
            if let status = statuses.first(where: { $0.part == part }) {
                state = status.shownState + (status.message.map { ": \($0)" } ?? "") +
                    (status.shownState == "running" ? " (on \(status.host), pid \(status.pid); wait for it)" : "")
            } else {
                state = "never started"
            }
            lines.append("  part \(part): \(lacking) of its \(units) \(Converter.vocabulary.unit)s missing (\(state)); rerun: " +
                         PlanFiles.rerunCommand(command, part: part))
        }
        return lines.joined(separator: "\n")
    }
}

extension DatasetConverter {
    /// `--plan-only`: scans the export (headers and label sources only) and stores the plan
    /// in the state folder. `command` is the command line, from which parts' commands are derived.
    public func planOnly(command: [String]) throws -> ShardedConversion.PlanSummary {
        try ShardedConversion.planOnly(self, command: command)
    }

    /// `--shard I/N`: converts part I of N of the stored plan.
    public func runPart(_ part: WorkPart) throws -> ShardedConversion.PartSummary {
        try ShardedConversion.runPart(self, part: part)
    }
}
