import Console
import Foundation
import Support

extension ShardedConversion {
    /// One merged dataset: its summary text and how many inputs did not convert.
    public struct MergeResult: Sendable {
        public var dataset: String
        public var text: String
        public var notConverted: Int
    }

    /// The planned datasets of an output folder: `(name, state directory)` of every dataset
    /// whose state folder holds a plan, by name.
    public static func plannedDatasets(outputRoot: URL, stateRoot: URL?) -> [(name: String, state: URL)] {
        let root = (stateRoot ?? StateLocation.defaultRoot(for: outputRoot.standardizedFileURL)).standardizedFileURL
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().compactMap { name in
            let folder = root.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: PlanFiles.plan(folder).path) ? (name, folder) : nil
        }
    }

    /// `medcil convert merge`: merges every planned dataset of `outputRoot` (or only `dataset`).
    public static func merge(outputRoot: URL, stateRoot: URL?, dataset: String? = nil, workers: Int,
                             progressMode: ProgressReporter.Mode = .automatic) throws -> [MergeResult] {
        let planned = try datasets(outputRoot: outputRoot, stateRoot: stateRoot, only: dataset)
        return try planned.map { name, state in
            let head = try PlanFiles.head(state)
            switch head.kind {
            case EchoConversion.kind:
                let summary = try merge(EchoConversion.self, stateDirectory: state, outputRoot: outputRoot, stateRoot: stateRoot,
                                        workers: workers, progressMode: progressMode)
                return MergeResult(dataset: name, text: summary.text, notConverted: summary.notConverted)
            case MRConversion.kind:
                let summary = try merge(MRConversion.self, stateDirectory: state, outputRoot: outputRoot, stateRoot: stateRoot,
                                        workers: workers, progressMode: progressMode)
                return MergeResult(dataset: name, text: summary.text, notConverted: summary.notConverted)
            default:
                throw IngestError.parts("\(PlanFiles.plan(state).path) is a plan of an unknown kind '\(head.kind)'")
            }
        }
    }

    /// `medcil convert status`: each planned dataset's parts, done, running, interrupted,
    /// failed or not started, and whether the merge can run.
    public static func status(outputRoot: URL, stateRoot: URL?) throws -> String {
        let planned = try datasets(outputRoot: outputRoot, stateRoot: stateRoot, only: nil)
        var lines: [String] = []
        let now = Date().timeIntervalSince1970
        for (name, state) in planned {
            let head = try PlanFiles.head(state)
            let statuses = PartStatus.all(in: state)
            guard let latest = statuses.max(by: { $0.started < $1.started }) else {
                lines.append("\(name) (\(head.kind), \(head.units) units): planned, no part has run")
                continue
            }
            let count = latest.part.count
            let current = statuses.filter { $0.part.count == count }
            let done = current.filter { $0.state == .done }.count
            lines.append("\(name) (\(head.kind), \(head.units) units): \(done) of \(count) parts done")
            var table = TextTable(header: ["part", "state", "units", "finished", "failed", "work", "host", "pid", "updated"],
                                  rightAligned: [2, 3, 4, 5, 7])
            for index in 1...count {
                let part = try WorkPart(index: index, count: count)
                guard let status = current.first(where: { $0.part == part }) else {
                    table.add([part.description, "not started", "", "", "", "", "", "", ""])
                    continue
                }
                table.add([part.description, status.shownState, String(status.units), String(status.finished), String(status.failedUnits),
                           String(status.work), status.host, String(status.pid), String(format: "%.0f s ago", max(0, now - status.updated))])
            }
            lines.append(table.render(indent: "  "))
            for status in current where status.state != .done && status.shownState != "running" {
                lines.append("  part \(status.part) \(status.shownState)\(status.message.map { ": \($0)" } ?? ""); rerun: \(status.rerun)")
            }
            if done == count {
                lines.append("  all parts done: medcil convert merge --out \(outputRoot.path)" + (stateRoot.map { " --state \($0.path)" } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func datasets(outputRoot: URL, stateRoot: URL?, only: String?) throws -> [(name: String, state: URL)] {
        var planned = plannedDatasets(outputRoot: outputRoot, stateRoot: stateRoot)
        if let only { planned = planned.filter { $0.name == only } }
        guard !planned.isEmpty else {
            let root = stateRoot ?? StateLocation.defaultRoot(for: outputRoot.standardizedFileURL)
            throw IngestError.parts("no planned conversion\(only.map { " of dataset \($0)" } ?? "") for --out \(outputRoot.path) " +
                "(state folder \(root.path)): run `medcil convert echo|mr ... --plan-only` with the same --out and --state first")
        }
        return planned
    }
}
