import DicomIO
import Foundation
import Support

/// A site's echo converter (`converters/<site>.yaml`): which files to read, where each
/// cine's raw view label comes from, how raw labels map to the canonical taxonomy, and how
/// frames become shards. Every key but `site`, `label` and `label_map` has a default;
/// unknown keys are errors, so a typo cannot silently change a conversion.
public struct EchoConverterConfig: ConverterSettings, Equatable {
    public var version: Int = 1
    /// Site name, recorded with every sample.
    public var site: String
    /// Output folder name under --out (default: the site name).
    public var dataset: String
    /// Taxonomy file, relative to this config's folder.
    public var taxonomy: String = "taxonomy/echo-views.yaml"
    public var input = InputSpec()
    public var label: LabelSourceSpec
    /// Raw label -> canonical class name or IGNORE.
    public var labelMap: [String: String]
    public var unmapped: UnmappedPolicy = .error
    public var geometry = GeometrySpec()
    public var frames = FrameSpec()
    public var output = OutputSpec()
    public var split = SplitSpec()
    public var privacy = PrivacySpec()
    /// The readers' sanity limits (frames, pixels per frame); a file beyond one fails alone.
    public var limits = DicomLimits()

    enum CodingKeys: String, CodingKey {
        case version, site, dataset, taxonomy, input, label, unmapped, geometry, frames, output, split, privacy, limits
        case labelMap = "label_map"
    }

    public init(site: String, label: LabelSourceSpec, labelMap: [String: String]) {
        self.site = site
        self.dataset = site
        self.label = label
        self.labelMap = labelMap
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "the converter config")
        let head = try ConverterHead(from: decoder, defaultTaxonomy: "taxonomy/echo-views.yaml")
        (site, dataset, taxonomy, input, split, privacy) = (head.site, head.dataset, head.taxonomy, head.input, head.split, head.privacy)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        label = try c.decode(LabelSourceSpec.self, forKey: .label)
        labelMap = try c.decode([String: String].self, forKey: .labelMap)
        unmapped = try c.decodeIfPresent(UnmappedPolicy.self, forKey: .unmapped) ?? .error
        geometry = try c.decodeIfPresent(GeometrySpec.self, forKey: .geometry) ?? GeometrySpec()
        frames = try c.decodeIfPresent(FrameSpec.self, forKey: .frames) ?? FrameSpec()
        output = try c.decodeIfPresent(OutputSpec.self, forKey: .output) ?? OutputSpec()
        limits = try c.decodeIfPresent(DicomLimits.self, forKey: .limits) ?? DicomLimits()
        try validate()
    }

    public func validate() throws {
        try validateCommonKeys()
        try frames.validate()
        try label.validate()
    }
}

extension EchoConverterConfig.CodingKeys: CaseIterable {}

extension EchoConverterConfig {
    /// Frames in one stored sample: `frames_per_sample` for clips, else 1.
    public var framesPerSample: Int { frames.mode == .clips ? frames.framesPerSample : 1 }

    /// The shape of one stored sample: `[F, H, W]` for clips of more than one frame, else
    /// `[H, W]` (the one place this shape is decided: writer, packer and dataset.json).
    public var sampleShape: [Int] {
        framesPerSample > 1 ? [framesPerSample, geometry.height, geometry.width] : [geometry.height, geometry.width]
    }
}

public enum UnmappedPolicy: String, ConfigEnum, Sendable {
    /// Fail the run, listing every unmapped raw label with its count.
    case error
    /// Skip files with unmapped labels; the report lists them.
    case skip
}

/// Where a cine's raw label comes from.
public struct LabelSourceSpec: Codable, Sendable, Equatable {
    public enum Source: String, ConfigEnum, Sendable {
        /// A DICOM attribute, by keyword (`SeriesDescription`) or tag (`0008,103E`).
        case tag
        /// A CSV sheet keyed by the file's relative path or its SOPInstanceUID.
        case csv
        /// A regular expression on the relative path (named group `label`, else group 1).
        case path
    }

    public enum CSVKey: String, ConfigEnum, Sendable {
        case path
        case sopInstanceUID = "sop_instance_uid"
    }

    public var source: Source
    public var tag: String?
    public var csv: String?
    public var key: CSVKey?
    public var keyColumn: String?
    public var labelColumn: String?
    public var pattern: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source, tag, csv, key, pattern
        case keyColumn = "key_column"
        case labelColumn = "label_column"
    }

    public init(source: Source, tag: String? = nil, csv: String? = nil, key: CSVKey? = nil,
                keyColumn: String? = nil, labelColumn: String? = nil, pattern: String? = nil) {
        self.source = source; self.tag = tag; self.csv = csv; self.key = key
        self.keyColumn = keyColumn; self.labelColumn = labelColumn; self.pattern = pattern
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "label")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(Source.self, forKey: .source)
        tag = try c.decodeIfPresent(String.self, forKey: .tag)
        csv = try c.decodeIfPresent(String.self, forKey: .csv)
        key = try c.decodeIfPresent(CSVKey.self, forKey: .key)
        keyColumn = try c.decodeIfPresent(String.self, forKey: .keyColumn)
        labelColumn = try c.decodeIfPresent(String.self, forKey: .labelColumn)
        pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
    }

    func validate() throws {
        switch source {
        case .tag:
            guard tag != nil else { throw ConfigError("label.source tag needs label.tag (e.g. SeriesDescription)") }
        case .csv:
            guard csv != nil, keyColumn != nil, labelColumn != nil else {
                throw ConfigError("label.source csv needs label.csv, label.key_column and label.label_column")
            }
        case .path:
            guard let pattern else { throw ConfigError("label.source path needs label.pattern") }
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw ConfigError("label.pattern '\(pattern)' is not a valid regular expression")
            }
        }
    }
}

/// Crop, mask and resize.
public struct GeometrySpec: OutputGeometry, Equatable {
    public enum Fit: String, ConfigEnum, Sendable {
        /// Keep the aspect ratio, pad with black (letterbox).
        case pad
        /// Resize to the target size, ignoring the aspect ratio.
        case stretch
        /// Keep the aspect ratio, cut the excess around the centre.
        case crop
    }

    public enum Region: String, ConfigEnum, Sendable {
        /// The largest 2D tissue region of the Sequence of Ultrasound Regions that lies inside
        /// the image; without one, the sector found from what changes across frames.
        case auto
        /// Only the ultrasound region; files without a usable one are skipped.
        case ultrasoundRegion = "ultrasound-region"
        /// Always the sector found from what changes across frames.
        case motion
        /// The whole image.
        case full
    }

    public enum Mask: String, ConfigEnum, Sendable {
        /// Black out everything outside the detected sector (text, ECG trace, calipers).
        case sector
        /// Keep the crop as it is.
        case none
    }

    /// Output [height, width].
    public var size: [Int] = [112, 112]
    public var fit: Fit = .pad
    public var region: Region = .auto
    public var mask: Mask = .sector

    enum CodingKeys: String, CodingKey, CaseIterable { case size, fit, region, mask }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "geometry")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        size = try c.decodeIfPresent([Int].self, forKey: .size) ?? [112, 112]
        fit = try c.decodeIfPresent(Fit.self, forKey: .fit) ?? .pad
        region = try c.decodeIfPresent(Region.self, forKey: .region) ?? .auto
        mask = try c.decodeIfPresent(Mask.self, forKey: .mask) ?? .sector
    }

    public var height: Int { size[0] }
    public var width: Int { size[1] }

}

/// Which frames of a cine become samples.
public struct FrameSpec: Codable, Sendable, Equatable {
    public enum Mode: String, ConfigEnum, Sendable {
        /// Every frame is a sample.
        case all
        /// `count` frames evenly spaced over the cine, each a sample.
        case even
        /// Clips of `frames_per_sample` frames taken every `stride` frames; each clip is one
        /// sample `[F, H, W]`. Consecutive clips do not overlap; `max_clips` 0 takes all.
        case clips
    }

    public var mode: Mode = .even
    public var count: Int = 8
    public var framesPerSample: Int = 1
    public var stride: Int = 1
    public var maxClips: Int = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, count, stride
        case framesPerSample = "frames_per_sample"
        case maxClips = "max_clips"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "frames")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .even
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? 8
        framesPerSample = try c.decodeIfPresent(Int.self, forKey: .framesPerSample) ?? 1
        stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1
        maxClips = try c.decodeIfPresent(Int.self, forKey: .maxClips) ?? 0
    }

    func validate() throws {
        guard count >= 1, stride >= 1, maxClips >= 0, framesPerSample >= 1 else {
            throw ConfigError("frames: count, stride and frames_per_sample must be at least 1, max_clips at least 0")
        }
        if mode != .clips && framesPerSample != 1 {
            throw ConfigError("frames.frames_per_sample > 1 needs frames.mode: clips")
        }
    }
}

public struct OutputSpec: Codable, Sendable, Equatable {
    public enum DType: String, ConfigEnum, Sendable {
        /// Grey levels 0...255 (the seed work's format).
        case uint8
        /// Grey levels scaled to 0...1.
        case float32
    }

    public enum Layout: String, ConfigEnum, Sendable {
        /// One `.npy` per sample: `<split>/<id>_<label>.npy`.
        case files
        /// Samples stacked in `<split>/shard-NNNNN.npy` with `labels.npy` beside.
        case packed
    }

    public var dtype: DType = .uint8
    public var layout: Layout = .files
    /// Target shard size in megabytes (fractions allowed, e.g. 0.5).
    public var shardMegabytes: Double = 256

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dtype, layout
        case shardMegabytes = "shard_megabytes"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "output")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dtype = try c.decodeIfPresent(DType.self, forKey: .dtype) ?? .uint8
        layout = try c.decodeIfPresent(Layout.self, forKey: .layout) ?? .files
        shardMegabytes = try c.decodeIfPresent(Double.self, forKey: .shardMegabytes) ?? 256
        guard shardMegabytes > 0 else { throw ConfigError("output.shard_megabytes must be positive") }
    }
}

