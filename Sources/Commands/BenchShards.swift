import ArgumentParser
import Console
import Foundation
import Support
import Workflows

/// `medcil bench shards --parts 1,2,4`: a sharded conversion's frames/s with N parts of one thread each.
struct BenchShards: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shards",
        abstract: "Frames/s of a sharded echo conversion with N = 1, 2, 4 ... parts (one thread each), and planning's share of the time.",
        discussion: """
        For each N: plans a fresh output folder (--plan-only), runs its N parts as N concurrent medcil processes \
        with --threads 1, then merges; prints each step's wall time, the frames decoded per second of the parts, the \
        speed-up over the first N, and the plan's share of plan + parts + merge. The input is a phantom site written \
        first (no faulty files), or --input with --config. Not a test: timings depend on the machine and its load.
        """
    )

    @Option(help: "Part counts to measure, comma-separated.")
    var parts: String = "1,2,4"

    @Option(help: "Phantom site to write and convert (a, b, c or d), when --input is not given.")
    var site: String = "a"

    @Option(help: "Phantom cines per view (one patient per cine index).")
    var perView: Int = 24

    @Option(help: "An export to convert instead of a phantom site (with --config).")
    var input: String?

    @Option(help: "The converter for --input (default: converters/phantom-echo-<site>.yaml).")
    var config: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard !partCounts.isEmpty, partCounts.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--parts must list positive counts, e.g. 1,2,4") }
        if input != nil && config == nil { throw ValidationError("--input needs --config") }
    }

    var partCounts: [Int] { parts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("medcil-bench-shards-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let export = try input.map { URL(fileURLWithPath: $0) }
            ?? ShardScalingBench.phantomExport(site: site, perView: perView, seed: 1, under: work, workers: shared.workerCount)
        let bench = ShardScalingBench(executable: Bundle.main.executablePath ?? CommandLine.arguments[0],
                                      converter: URL(fileURLWithPath: config ?? "converters/phantom-echo-\(site).yaml"),
                                      export: export, workDirectory: work)
        print("medcil bench shards: \(input ?? "phantom site \(site), \(perView) cines per view"); parts \(partCounts.map(String.init).joined(separator: ", ")), one thread each, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        var rows: [ShardScalingBench.Row] = []
        for count in partCounts {
            rows.append(try bench.measure(parts: count))
        }
        print(ShardScalingBench.table(rows))
        print("""

        parts s: wall time from the first part's start to the last part's end; frames/s: frames decoded by all parts over \
        that time. parts CPU s: user + system seconds of the parts' processes (the work, whatever else runs on the \
        machine); frames/CPU s: frames over those seconds. plan share: the plan's time over plan + parts + merge.
        """)
    }
}
