import ArgumentParser
import Foundation
import Ingest
import Support

/// `medcil convert merge --out DIR`: the last step of a sharded conversion.
struct ConvertMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the parts of a sharded conversion (--plan-only, then --shard I/N) into dataset.json, manifest.csv and the report.",
        discussion: """
        Reads the plan and every part's records from the state folder and writes exactly what a conversion on one \
        machine writes (for --layout packed, the shards are renumbered). A part that is missing, failed or still \
        running is an error that names the part and the command that reruns it. Merging again gives the same bytes.
        """
    )

    @Option(help: "The output root the parts wrote to.")
    var out: String

    @Option(help: ArgumentHelp("The state folder the plan and parts used (default: the one of --out).", valueName: "dir"))
    var state: String?

    @Option(help: "Merge only this dataset (default: every planned dataset of --out).")
    var dataset: String?

    @Flag(help: "Exit with status 2 when any input was not converted.")
    var strict = false

    @OptionGroup var shared: SharedOptions

    func run() throws {
        let results: [ShardedConversion.MergeResult]
        do {
            results = try ShardedConversion.merge(outputRoot: URL(fileURLWithPath: out), stateRoot: state.map { URL(fileURLWithPath: $0) },
                                                  dataset: dataset, workers: shared.workerCount, progressMode: shared.progress.mode)
        } catch let error as IngestError {
            printError("medcil convert merge: \(error)")
            throw ExitCode(1)
        } catch let error as ConfigError {
            printError("medcil convert merge: \(error)")
            throw ExitCode(1)
        }
        for result in results { print(result.text) }
        if strict && results.contains(where: { $0.notConverted > 0 }) { throw ExitCode(2) }
    }
}

/// `medcil convert status --out DIR`: which parts of a sharded conversion are done.
struct ConvertStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the parts of a sharded conversion: done, running, interrupted, failed or not started."
    )

    @Option(help: "The output root the parts write to.")
    var out: String

    @Option(help: ArgumentHelp("The state folder the plan and parts use (default: the one of --out).", valueName: "dir"))
    var state: String?

    func run() throws {
        do {
            print(try ShardedConversion.status(outputRoot: URL(fileURLWithPath: out), stateRoot: state.map { URL(fileURLWithPath: $0) }))
        } catch let error as IngestError {
            printError("medcil convert status: \(error)")
            throw ExitCode(1)
        }
    }
}
