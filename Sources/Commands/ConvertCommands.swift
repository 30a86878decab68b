import ArgumentParser
import Console
import Foundation
import Ingest

/// `medcil convert`: raw exports to shards.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a site's raw export into normalized .npy shards with canonical labels.",
        subcommands: [ConvertEcho.self, ConvertMR.self]
    )
}

extension OutputSpec.Layout: ExpressibleByArgument {}
extension UnmappedPolicy: ExpressibleByArgument {}

/// `medcil convert echo --config converters/<site>.yaml --input EXPORT --out SHARDS`
struct ConvertEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "DICOM echo cines -> <out>/<dataset>/<split>/<id>_<label>.npy (or packed shards).",
        discussion: """
        Walks --input (any nesting, with or without .dcm), reads each cine's raw view label as the converter says, \
        maps it to the canonical taxonomy, crops to the ultrasound region (or the sector found from motion), masks \
        burned-in text and the ECG trace, converts to grey, resizes and samples frames. Splits are by patient.

        Writes dataset.json, manifest.csv, report.json and report.txt next to the shards, and the resolved \
        converter as config.resolved.yaml. Rerunning into the same --out skips cines already converted and writes \
        identical bytes. Files that cannot be converted are listed with the reason; the run still succeeds unless \
        --strict is given or a raw label is unmapped under 'unmapped: error'.
        """
    )

    @Option(help: "Site converter (YAML), e.g. converters/phantom-echo-a.yaml.")
    var config: String

    @Option(help: "Folder of the site's export.")
    var input: String

    @Option(help: "Output root; shards go to <out>/<dataset>/.")
    var out: String

    @Option(help: "Override output.layout: \(OutputSpec.Layout.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layout: OutputSpec.Layout?

    @Option(help: "Override geometry.size as HEIGHTxWIDTH, e.g. 112x112.")
    var size: String?

    @Option(help: "Override split.seed.")
    var splitSeed: Int?

    @Option(help: "Override the unmapped-label policy: \(UnmappedPolicy.allCases.map(\.rawValue).joined(separator: ", ")).")
    var unmapped: UnmappedPolicy?

    @Option(help: "Secret salt file for identifiers (default <out>/.medcil/salt, created on first use).")
    var saltFile: String?

    @Flag(help: "Exit with status 2 when any file failed or was skipped.")
    var strict = false

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if let size, parseSize(size) == nil { throw ValidationError("--size must look like 112x112") }
    }

    func run() throws {
        let configURL = URL(fileURLWithPath: config)
        var converter = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
        if let layout { converter.output.layout = layout }
        if let size, let parsed = parseSize(size) { converter.geometry.size = [parsed.0, parsed.1] }
        if let splitSeed { converter.split.seed = splitSeed }
        if let unmapped { converter.unmapped = unmapped }
        if let saltFile { converter.privacy.saltFile = saltFile }
        try converter.validate()
        let conversion = EchoConversion(config: converter, configURL: configURL, inputRoot: URL(fileURLWithPath: input),
                                        outputRoot: URL(fileURLWithPath: out), workers: shared.workerCount,
                                        progressMode: shared.progress.mode)
        let summary: EchoConversion.Summary
        do {
            summary = try conversion.run()
        } catch let error as IngestError {
            printError("medcil convert echo: \(error)")
            throw ExitCode(1)
        }
        print(summary.text)
        let bad = (summary.report.totals["failed"] ?? 0) + (summary.report.totals["skipped"] ?? 0)
        if strict && bad > 0 { throw ExitCode(2) }
    }
}

func parseSize(_ text: String) -> (Int, Int)? {
    let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, parts.allSatisfy({ $0 >= 8 && $0 <= 4096 }) else { return nil }
    return (parts[0], parts[1])
}
