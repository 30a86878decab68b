import ArgumentParser
import Ingest
import Support

/// `medcil convert`: raw exports to shards.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a site's raw export into normalized .npy shards with canonical labels.",
        subcommands: [ConvertEcho.self, ConvertMR.self, ConvertMerge.self, ConvertStatus.self]
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

    @OptionGroup var options: ConvertOptions

    @Option(help: "Override output.layout: \(OutputSpec.Layout.allCases.map(\.rawValue).joined(separator: ", ")).")
    var layout: OutputSpec.Layout?

    @Option(help: "Override the unmapped-label policy: \(UnmappedPolicy.allCases.map(\.rawValue).joined(separator: ", ")).")
    var unmapped: UnmappedPolicy?

    func run() throws {
        try options.run(EchoConversion.self) { converter in
            if let layout { converter.output.layout = layout }
            if let unmapped { converter.unmapped = unmapped }
        }
    }
}
