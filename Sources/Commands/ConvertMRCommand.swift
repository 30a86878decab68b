import ArgumentParser
import Foundation
import Ingest
import Support

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

    @OptionGroup var options: ConvertOptions

    @Option(help: "Override geometry.spacing as HEIGHTxWIDTH in millimetres, e.g. 1x1.")
    var spacing: String?

    @Option(help: "Override geometry.slice_axis: \(MRGeometrySpec.SliceAxis.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sliceAxis: MRGeometrySpec.SliceAxis?

    @Option(help: "Override unlisted_values (label values the map does not list): \(MRUnlistedPolicy.allCases.map(\.rawValue).joined(separator: ", ")).")
    var unlisted: MRUnlistedPolicy?

    func validate() throws {
        if let spacing, parseSpacing(spacing) == nil { throw ValidationError("--spacing must look like 1x1 or 0.8x0.8 (millimetres)") }
    }

    func run() throws {
        try options.run(MRConversion.self) { converter in
            if let spacing { converter.geometry.spacing = parseSpacing(spacing) }
            if let sliceAxis { converter.geometry.sliceAxis = sliceAxis }
            if let unlisted { converter.unlistedValues = unlisted }
        }
    }
}

func parseSpacing(_ text: String) -> [Double]? {
    let parts = text.lowercased().split(separator: "x").compactMap { Double($0) }
    guard parts.count == 2, parts.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
    return parts
}
