import ArgumentParser
import Foundation
import Ingest
import Support

/// Options both `convert` subcommands share, and the one way they run a converter.
struct ConvertOptions: ParsableArguments {
    @Option(help: "Site converter (YAML), e.g. converters/phantom-echo-a.yaml or converters/phantom-mr-a.yaml.")
    var config: String

    @Option(help: "Folder of the site's export.")
    var input: String

    @Option(help: "Output root; the dataset goes to <out>/<dataset>/.")
    var out: String

    @Option(help: "Override geometry.size as HEIGHTxWIDTH, e.g. 112x112.")
    var size: String?

    @Option(help: "Override split.seed.")
    var splitSeed: Int?

    @Option(help: ArgumentHelp("Folder for the salt and the resume records, outside --out (default: $XDG_STATE_HOME/medcil/outputs/<hash of --out>, else ~/.local/state/medcil/outputs/<hash of --out>).", valueName: "dir"))
    var state: String?

    @Option(help: "Secret salt file for identifiers, outside --out (default <state>/salt, created random on first use).")
    var saltFile: String?

    @Flag(help: "Exit with status 2 when any input was not converted (failed, skipped, unpaired or unmapped label).")
    var strict = false

    @Flag(help: "Only plan a sharded conversion: read headers and label sources (never pixels), assign splits and identifiers, and store the plan in the state folder. Then run the parts with --shard and `medcil convert merge`.")
    var planOnly = false

    @Option(help: ArgumentHelp("Convert part I of N of the stored plan (1-based; give the plan's other arguments). Parts may run at once on machines that share --out and --state; `medcil convert merge` combines them.", valueName: "I/N"))
    var shard: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if let shard {
            do { _ = try WorkPart(parsing: shard) } catch let error as ConfigError { throw ValidationError("--shard: \(error.message)") }
            if planOnly { throw ValidationError("--plan-only and --shard are two steps: plan first, then run the parts") }
        }
        if let size, OutputSize.parse(size) == nil {
            throw ValidationError("--size must look like 112x112 (each \(OutputSize.bounds.lowerBound)...\(OutputSize.bounds.upperBound))")
        }
    }

    /// Reads the converter with the command line's overrides, runs it and prints the summary.
    /// A bad converter or an unmapped label ends with status 1; with --strict, any input not
    /// converted ends with status 2.
    func run<Converter: DatasetConverter>(_ type: Converter.Type, overrides: (inout Converter.Config) -> Void) throws {
        let configURL = URL(fileURLWithPath: config)
        let summary: ConversionSummary<Converter.Description, Converter.Report>
        do {
            let settings = try Converter.Config.load(from: configURL) { settings in
                if let size { settings.geometry.size = OutputSize.parse(size)! }
                if let splitSeed { settings.split.seed = splitSeed }
                if let saltFile { settings.privacy.saltFile = saltFile }
                overrides(&settings)
            }
            let converter = Converter(config: settings, configURL: configURL, inputRoot: URL(fileURLWithPath: input),
                                      outputRoot: URL(fileURLWithPath: out), stateRoot: state.map { URL(fileURLWithPath: $0) },
                                      workers: shared.workerCount, progressMode: shared.progress.mode)
            if planOnly {
                print(try converter.planOnly(command: ConvertOptions.absoluteCommand(CommandLine.arguments)).text)
                return
            }
            if let shard {
                print(try converter.runPart(try WorkPart(parsing: shard)).text)
                return
            }
            summary = try converter.run()
        } catch let error as IngestError {
            printError("medcil \(Converter.vocabulary.label): \(error)")
            throw ExitCode(1)
        } catch let error as ConfigError {
            printError("medcil \(Converter.vocabulary.label): \(error)")
            throw ExitCode(1)
        }
        print(summary.text)
        if strict && summary.notConverted > 0 { throw ExitCode(2) }
    }

    /// The command line with path arguments made absolute, so that a part's rerun command
    /// works from any directory of any node that shares the filesystem.
    static func absoluteCommand(_ arguments: [String]) -> [String] {
        let pathOptions: Set<String> = ["--config", "--input", "--out", "--state", "--salt-file"]
        var result = arguments
        for k in result.indices.dropFirst() where pathOptions.contains(result[k - 1]) {
            result[k] = URL(fileURLWithPath: result[k]).standardizedFileURL.path
        }
        return result
    }
}
