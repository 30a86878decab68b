import Foundation
import NiftiIO
import Support

/// A site's MR converter (`converters/<site>.yaml`, read by `medcil convert mr`): which
/// NIfTI files are images and which are their label volumes, how the site's raw label values
/// map to the canonical anatomy, and how volumes become 2D slices. Every key but `site`,
/// `pairing` and `label_map` has a default; unknown keys are errors, so a typo cannot
/// silently change a conversion.
public struct MRConverterConfig: ConverterSettings, Equatable {
    public var version: Int = 1
    /// Site name, recorded with every slice.
    public var site: String
    /// Output folder name under --out (default: the site name).
    public var dataset: String
    /// Taxonomy file, relative to this config's folder.
    public var taxonomy: String = "taxonomy/shoulder-anatomy.yaml"
    /// The MR sequence (free text, e.g. "T1w", "Dixon water"): nnU-Net's channel name.
    public var sequence: String = "MR"
    public var input = InputSpec()
    public var pairing: MRPairingSpec
    /// Raw label value (an integer, as text) -> canonical class name, `background` or IGNORE.
    public var labelMap: [String: String]
    public var unlistedValues: MRUnlistedPolicy = .error
    public var geometry = MRGeometrySpec()
    public var intensity = MRIntensitySpec()
    public var split = SplitSpec()
    public var output = MROutputSpec()
    public var privacy = PrivacySpec()
    /// The reader's sanity limit (bytes per volume); a file beyond it fails alone.
    public var limits = NiftiLimits()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, site, dataset, taxonomy, sequence, input, pairing, geometry, intensity, split, output, privacy, limits
        case labelMap = "label_map"
        case unlistedValues = "unlisted_values"
    }

    public init(site: String, pairing: MRPairingSpec, labelMap: [String: String]) {
        self.site = site
        self.dataset = site
        self.pairing = pairing
        self.labelMap = labelMap
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "the MR converter config")
        let head = try ConverterHead(from: decoder, defaultTaxonomy: "taxonomy/shoulder-anatomy.yaml")
        (site, dataset, taxonomy, input, split, privacy) = (head.site, head.dataset, head.taxonomy, head.input, head.split, head.privacy)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sequence = try c.decodeIfPresent(String.self, forKey: .sequence) ?? "MR"
        pairing = try c.decode(MRPairingSpec.self, forKey: .pairing)
        labelMap = try c.decode([String: String].self, forKey: .labelMap)
        unlistedValues = try c.decodeIfPresent(MRUnlistedPolicy.self, forKey: .unlistedValues) ?? .error
        geometry = try c.decodeIfPresent(MRGeometrySpec.self, forKey: .geometry) ?? MRGeometrySpec()
        intensity = try c.decodeIfPresent(MRIntensitySpec.self, forKey: .intensity) ?? MRIntensitySpec()
        output = try c.decodeIfPresent(MROutputSpec.self, forKey: .output) ?? MROutputSpec()
        limits = try c.decodeIfPresent(NiftiLimits.self, forKey: .limits) ?? NiftiLimits()
        try validate()
    }

    public func validate() throws {
        try validateCommonKeys()
        try pairing.validate()
        try geometry.validateSpacing()
        try intensity.validate()
        guard !labelMap.isEmpty else { throw ConfigError("label_map is empty: list the raw label values and their classes") }
    }
}

/// What to do with label values the site's map does not list.
public enum MRUnlistedPolicy: String, ConfigEnum, Sendable {
    /// The volume fails with an error listing every unlisted value and its voxel count.
    case error
    /// Unlisted values become 0 (not one of the site's annotated classes); the report lists them.
    case ignore
}

/// How image volumes and label volumes are recognised and paired: two regular expressions
/// over paths relative to --input, each with a named group `volume`; an image and a label
/// volume with the same `volume` value are a pair.
public struct MRPairingSpec: Codable, Sendable, Equatable {
    public var image: String
    public var label: String
    /// Optional: a regular expression over the image's relative path whose named group
    /// `subject` identifies the subject; splits then keep each subject's volumes together.
    /// Without it, each volume is its own unit.
    public var subject: String?
    /// Largest element-wise difference allowed between the image's and the label volume's
    /// affines (millimetres for the offsets).
    public var affineTolerance: Double = 1e-3

    enum CodingKeys: String, CodingKey, CaseIterable {
        case image, label, subject
        case affineTolerance = "affine_tolerance"
    }

    public init(image: String, label: String, subject: String? = nil) {
        self.image = image
        self.label = label
        self.subject = subject
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "pairing")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(String.self, forKey: .image)
        label = try c.decode(String.self, forKey: .label)
        subject = try c.decodeIfPresent(String.self, forKey: .subject)
        affineTolerance = try c.decodeIfPresent(Double.self, forKey: .affineTolerance) ?? 1e-3
    }

    func validate() throws {
        for (key, pattern, group) in [("image", image, "volume"), ("label", label, "volume"), ("subject", subject ?? "", "subject")] where !pattern.isEmpty {
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw ConfigError("pairing.\(key) '\(pattern)' is not a valid regular expression")
            }
            guard pattern.contains("(?<\(group)>") else {
                throw ConfigError("pairing.\(key) '\(pattern)' needs a named group (?<\(group)>...)")
            }
        }
        guard affineTolerance >= 0, affineTolerance.isFinite else { throw ConfigError("pairing.affine_tolerance must be a non-negative number") }
    }
}

/// Reorientation, slicing, in-plane resampling and output size.
public struct MRGeometrySpec: OutputGeometry, Equatable {
    /// Which canonical (RAS+) axis slices are cut across.
    public enum SliceAxis: String, ConfigEnum, Sendable {
        /// Across z (inferior to superior): each slice is [x, y].
        case axial
        /// Across y (posterior to anterior): each slice is [x, z].
        case coronal
        /// Across x (left to right): each slice is [y, z].
        case sagittal

        /// The canonical axis index slices are taken along.
        public var axis: Int {
            switch self {
            case .axial: return 2
            case .coronal: return 1
            case .sagittal: return 0
            }
        }

        /// The canonical axes of a slice's [H, W].
        public var planeAxes: (Int, Int) {
            switch self {
            case .axial: return (0, 1)
            case .coronal: return (0, 2)
            case .sagittal: return (1, 2)
            }
        }
    }

    public enum Fit: String, ConfigEnum, Sendable {
        /// Centre the slice, pad with the volume's lowest normalised value (0 in masks),
        /// and crop centrally where it is larger: the pixel spacing is kept.
        case pad
        /// Resample each slice to the target size (linear for images, nearest for masks):
        /// the aspect ratio changes unless the slice already has the target's.
        case resize
    }

    public var sliceAxis: SliceAxis = .axial
    /// In-plane pixel spacing [H, W] in millimetres to resample to before fitting, or none.
    public var spacing: [Double]?
    /// Output [height, width].
    public var size: [Int] = [128, 128]
    public var fit: Fit = .pad

    enum CodingKeys: String, CodingKey, CaseIterable {
        case spacing, size, fit
        case sliceAxis = "slice_axis"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "geometry")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sliceAxis = try c.decodeIfPresent(SliceAxis.self, forKey: .sliceAxis) ?? .axial
        spacing = try c.decodeIfPresent([Double].self, forKey: .spacing)
        size = try c.decodeIfPresent([Int].self, forKey: .size) ?? [128, 128]
        fit = try c.decodeIfPresent(Fit.self, forKey: .fit) ?? .pad
    }

    public var height: Int { size[0] }
    public var width: Int { size[1] }

    func validateSpacing() throws {
        if let spacing {
            guard spacing.count == 2, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ConfigError("geometry.spacing must be [height, width] in millimetres, each positive")
            }
        }
    }
}

/// Per-volume intensity normalisation.
public struct MRIntensitySpec: Codable, Sendable, Equatable {
    public enum Normalization: String, ConfigEnum, Sendable {
        /// Subtract the clipped volume's mean and divide by its standard deviation.
        case zscore
        /// Map the clip range to [0, 1].
        case minmax
    }

    /// Lower and upper percentiles (numpy's linear definition) the volume is clipped to.
    public var clipPercentiles: [Double] = [0.5, 99.5]
    public var normalization: Normalization = .zscore

    enum CodingKeys: String, CodingKey, CaseIterable {
        case normalization
        case clipPercentiles = "clip_percentiles"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "intensity")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        clipPercentiles = try c.decodeIfPresent([Double].self, forKey: .clipPercentiles) ?? [0.5, 99.5]
        normalization = try c.decodeIfPresent(Normalization.self, forKey: .normalization) ?? .zscore
    }

    func validate() throws {
        guard clipPercentiles.count == 2, clipPercentiles[0] >= 0, clipPercentiles[1] <= 100, clipPercentiles[0] < clipPercentiles[1] else {
            throw ConfigError("intensity.clip_percentiles must be [low, high] with 0 <= low < high <= 100")
        }
    }
}

public struct MROutputSpec: Codable, Sendable, Equatable {
    public enum VolumeIDs: String, ConfigEnum, Sendable {
        /// A salted hash of the volume's key: file names reveal nothing about the subject.
        case hashed
        /// The `volume` group as matched (characters other than letters, digits, '.', '-'
        /// and '_' replaced by '_'): readable, for exports already de-identified.
        case clear
    }

    public var volumeIDs: VolumeIDs = .hashed

    enum CodingKeys: String, CodingKey, CaseIterable {
        case volumeIDs = "volume_ids"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "output")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        volumeIDs = try c.decodeIfPresent(VolumeIDs.self, forKey: .volumeIDs) ?? .hashed
    }
}
