import Console
import Foundation
import Ingest
import Phantoms
import Support

/// `medcil bench shards`: how a sharded echo conversion scales with the number of parts on
/// one machine. For each N, a fresh output folder is planned (`--plan-only`), its N parts run
/// as N concurrent `medcil` processes with one thread each, and the merge follows; each step
/// is timed from outside, as a scheduler would see it.
public struct ShardScalingBench {
    public struct Row: Sendable {
        public var parts: Int
        public var planSeconds: Double
        /// From the first part's start to the last part's end.
        public var partsSeconds: Double
        public var mergeSeconds: Double
        /// CPU seconds (user + system) the parts' processes used: the work itself, whatever the
        /// machine's load, so that sharding's overhead shows even where other jobs share the cores.
        public var partsCPUSeconds: Double
        public var frames: Int
        public var framesPerSecond: Double { Double(frames) / max(partsSeconds, 1e-9) }
        /// Planning as a share of the whole conversion (plan + parts + merge).
        public var planShare: Double { planSeconds / max(planSeconds + partsSeconds + mergeSeconds, 1e-9) }
    }

    /// The `medcil` executable to run.
    public var executable: String
    public var converter: URL
    public var export: URL
    public var workDirectory: URL

    public init(executable: String, converter: URL, export: URL, workDirectory: URL) {
        (self.executable, self.converter, self.export, self.workDirectory) = (executable, converter, export, workDirectory)
    }

    /// Writes phantom site `site` with `perView` cines per view (no faulty files) under `directory`.
    public static func phantomExport(site name: String, perView: Int, seed: UInt64, under directory: URL, workers: Int) throws -> URL {
        guard let site = EchoPhantomSite.all.first(where: { $0.name == name }) else {
            throw ConfigError("no phantom echo site '\(name)' (sites: \(EchoPhantomSite.all.map(\.name).joined(separator: ", ")))")
        }
        return try EchoPhantomExporter.export(site: site, to: directory, perView: perView, seed: seed, faults: false,
                                              workers: workers, progress: .off).directory
    }

    public func measure(parts: Int) throws -> Row {
        let out = workDirectory.appendingPathComponent("out-\(parts)"), state = workDirectory.appendingPathComponent("state-\(parts)")
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: state)
        let convert = ["convert", "echo", "--config", converter.path, "--input", export.path, "--out", out.path, "--state", state.path,
                       "--progress", "off"]
        let (planSeconds, _) = try timed([convert + ["--plan-only", "--threads", "1"]])
        let (partsSeconds, partsCPU) = try timed((1...parts).map { convert + ["--shard", "\($0)/\(parts)", "--threads", "1"] })
        let (mergeSeconds, _) = try timed([["convert", "merge", "--out", out.path, "--state", state.path, "--progress", "off", "--threads", "1"]])
        let frames = ShardedConversion.plannedDatasets(outputRoot: out, stateRoot: state)
            .flatMap { PartStatus.all(in: $0.state) }.filter { $0.part.count == parts }.reduce(0) { $0 + $1.work }
        return Row(parts: parts, planSeconds: planSeconds, partsSeconds: partsSeconds, mergeSeconds: mergeSeconds, partsCPUSeconds: partsCPU,
                   frames: frames)
    }

    /// Runs the commands at once and returns the seconds until the last ends and the CPU
    /// seconds they used (from the waited-for children's resource usage); a failure throws with
    /// the command's output.
    private func timed(_ commands: [[String]]) throws -> (wall: Double, cpu: Double) {
        let cpuBefore = Self.childrenCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        let running = try commands.map { arguments -> (Process, URL) in
            let log = workDirectory.appendingPathComponent("log-\(UUID().uuidString).txt")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            return (process, log)
        }
        for (process, log) in running {
            process.waitUntilExit()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: log)
            guard process.terminationStatus == 0 else {
                throw ConfigError("medcil \((process.arguments ?? []).joined(separator: " ")) exited with \(process.terminationStatus):\n\(output)")
            }
        }
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, Self.childrenCPUSeconds() - cpuBefore)
    }

    /// User + system seconds of this process's terminated, waited-for children.
    private static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The table of `rows`, speed-ups against the first row.
    public static func table(_ rows: [Row]) -> String {
        var table = TextTable(header: ["parts", "plan s", "parts s", "merge s", "frames", "frames/s", "speed-up", "parts CPU s",
                                       "frames/CPU s", "plan share"],
                              rightAligned: Set(0...9))
        let base = rows.first?.framesPerSecond ?? 1
        for row in rows {
            table.add([String(row.parts), String(format: "%.2f", row.planSeconds), String(format: "%.2f", row.partsSeconds),
                       String(format: "%.2f", row.mergeSeconds), String(row.frames), ProgressReporter.rate(row.framesPerSecond),
                       String(format: "%.2fx", row.framesPerSecond / max(base, 1e-9)), String(format: "%.2f", row.partsCPUSeconds),
                       ProgressReporter.rate(Double(row.frames) / max(row.partsCPUSeconds, 1e-9)), String(format: "%.1f%%", row.planShare * 100)])
        }
        return table.render()
    }
}
