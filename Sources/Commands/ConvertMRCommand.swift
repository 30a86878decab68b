import ArgumentParser
import Console
import Foundation
import Ingest

extension MRGeometrySpec.SliceAxis: ExpressibleByArgument {}
extension MRUnlistedPolicy: ExpressibleByArgument {}

/// `medcil convert mr --config converters/<site>.yaml --input EXPORT --out SHARDS`
struct ConvertMR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mr",
        abstract: "NIfTI MR volumes + label volumes -> <out>/<dataset>/<split>/<volume>_<slice>.npy and _mask.npy.",
        discussion: """
        Pairs each image volume with its label volume (pairing.image / pairing.label in the converter), checks that \
        both share shape and affine, reorients both to RAS+ (axis permutation and flips only, as nibabel's \
        as_closest_canonical), optionally resamples in-plane to geometry.spacing (linear for images, nearest for \
        labels), normalises each volume's intensities (percentile clip, then z-score or [0, 1]) and cuts 2D slices \
        along geometry.slice_axis, padded or resized to geometry.size. Images are float32 [H, W], masks uint8 [H, W] \
        of canonical class indices; 0 in a mask means background or a class the site does not annotate \
        (dataset.json lists both). Slices without foreground are kept and flagged in manifest.csv. Splits are by \
        subject (pairing.subject) or by volume, deterministic from split.seed.

        Writes dataset.json (nnU-Net keys plus annotated classes, geometry and per-volume intensity statistics), \
        manifest.csv (one row per slice with per-class pixel counts), report.json and report.txt (every input \
        file's fate) and config.resolved.yaml. Rerunning into the same --out skips volumes already converted and \
        writes identical bytes. Volumes that cannot be converted are listed with the reason; the run still \
        succeeds unless --strict is given.
        """
    )

    @Option(help: "Site converter (YAML), e.g. converters/phantom-mr-a.yaml.")
    var config: String

    @Option(help: "Folder of the site's export.")
    var input: String

    @Option(help: "Output root; slices go to <out>/<dataset>/.")
    var out: String

    @Option(help: "Override geometry.size as HEIGHTxWIDTH, e.g. 128x128.")
    var size: String?

    @Option(help: "Override geometry.spacing as HEIGHTxWIDTH in millimetres, e.g. 1x1.")
    var spacing: String?

    @Option(help: "Override geometry.slice_axis: \(MRGeometrySpec.SliceAxis.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sliceAxis: MRGeometrySpec.SliceAxis?

    @Option(help: "Override split.seed.")
    var splitSeed: Int?

    @Option(help: "Override unlisted_values (label values the map does not list): \(MRUnlistedPolicy.allCases.map(\.rawValue).joined(separator: ", ")).")
    var unlisted: MRUnlistedPolicy?

    @Option(help: "Secret salt file for identifiers (default <out>/.medcil/salt, created on first use).")
    var saltFile: String?

    @Flag(help: "Exit with status 2 when any input was not converted (failed, unpaired or unmapped label).")
    var strict = false

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if let size, parseSize(size) == nil { throw ValidationError("--size must look like 128x128") }
        if let spacing, parseSpacing(spacing) == nil { throw ValidationError("--spacing must look like 1x1 or 0.8x0.8 (millimetres)") }
    }

    func run() throws {
        let configURL = URL(fileURLWithPath: config)
        var converter: MRConverterConfig
        do {
            converter = try ConfigLoader.load(MRConverterConfig.self, from: configURL)
            if let size, let parsed = parseSize(size) { converter.geometry.size = [parsed.0, parsed.1] }
            if let spacing, let parsed = parseSpacing(spacing) { converter.geometry.spacing = parsed }
            if let sliceAxis { converter.geometry.sliceAxis = sliceAxis }
            if let splitSeed { converter.split.seed = splitSeed }
            if let unlisted { converter.unlistedValues = unlisted }
            if let saltFile { converter.privacy.saltFile = saltFile }
            try converter.validate()
        } catch let error as IngestError {
            printError("medcil convert mr: \(error)")
            throw ExitCode(1)
        }
        let conversion = MRConversion(config: converter, configURL: configURL, inputRoot: URL(fileURLWithPath: input),
                                      outputRoot: URL(fileURLWithPath: out), workers: shared.workerCount,
                                      progressMode: shared.progress.mode)
        let summary: MRConversion.Summary
        do {
            summary = try conversion.run()
        } catch let error as IngestError {
            printError("medcil convert mr: \(error)")
            throw ExitCode(1)
        }
        print(summary.text)
        let totals = summary.report.totals
        let bad = (totals["failed"] ?? 0) + (totals["unpaired"] ?? 0) + (totals["unmapped-label"] ?? 0)
        if strict && bad > 0 { throw ExitCode(2) }
    }
}

func parseSpacing(_ text: String) -> [Double]? {
    let parts = text.lowercased().split(separator: "x").compactMap { Double($0) }
    guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
    return parts
}
