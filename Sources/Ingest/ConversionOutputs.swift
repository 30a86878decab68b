import Foundation

/// What a converted source file produced, kept in `<out>/.medcil/<dataset>/records/` so that
/// a rerun skips it (same fingerprint, outputs present) and rebuilds the manifest, the
/// statistics and the report byte for byte from records alone.
public struct ConversionRecord: Codable, Sendable, Equatable {
    public struct Sample: Codable, Sendable, Equatable {
        public var id: String
        public var frames: [Int]
        /// Sum and sum of squares of the grey values (0...255), for split statistics.
        public var sum: UInt64
        public var sumSquares: UInt64
        /// Layout `files`: path relative to the dataset folder.
        public var file: String?
        /// Layout `packed`: where the sample lives in the staging file or shard.
        public var packed: PackedLocation?
    }

    public struct PackedLocation: Codable, Sendable, Equatable {
        /// Relative to the dataset folder (a shard), or to the state folder (staging).
        public var file: String
        public var index: Int
        public var staging: Bool
    }

    public var fingerprint: String
    /// Name of this record's file in the records folder (a salted hash of the source path).
    public var key: String
    public var source: String
    public var split: String
    public var label: Int
    public var samples: [Sample]
    public var region: String
    public var mask: String
    public var frameCount: Int
    public var framesDecoded: Int
    public var rows: Int
    public var columns: Int
}

/// The fate of one input file, as `report.json` lists it.
public struct FileFate: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case converted
        case excluded
        case ignoredLabel = "ignored-label"
        case unmappedLabel = "unmapped-label"
        case skipped
        case failed
    }

    public var source: String
    public var outcome: Outcome
    public var reason: String?
    public var rawLabel: String?
    public var canonicalClass: String?
    public var split: String?
    public var samples: Int
    public var framesDecoded: Int
    public var region: String?
    public var mask: String?
}

/// `report.json`: every input file with its fate, and the run's totals.
public struct ConversionReport: Codable, Sendable {
    public var site: String
    public var dataset: String
    public var files: [FileFate]
    public var totals: [String: Int]
    public var unmappedLabels: [String: Int]
    public var ignoredLabels: [String: Int]
    /// Only what the inputs determine (no timings), so that reruns write identical bytes.
    public var samplesPerSplit: [String: Int]
}

/// `dataset.json`: everything a trainer (or a user leaving for PyTorch) needs to read the
/// shards: classes, label map, image format, counts, and per-site normalisation.
public struct EchoDatasetDescription: Codable, Sendable, Equatable {
    public struct TaxonomyRef: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

    public struct ImageFormat: Codable, Sendable, Equatable {
        public var height: Int
        public var width: Int
        public var framesPerSample: Int
        public var dtype: String
        public var layout: String
        /// Shape of one sample as stored.
        public var sampleShape: [Int]
        public var valueRange: [Double]

        enum CodingKeys: String, CodingKey {
            case height, width, dtype, layout
            case framesPerSample = "frames_per_sample"
            case sampleShape = "sample_shape"
            case valueRange = "value_range"
        }
    }

    public struct SplitCounts: Codable, Sendable, Equatable {
        public var samples: Int
        public var sourceFiles: Int
        public var patients: Int
        public var perClass: [String: Int]

        enum CodingKeys: String, CodingKey {
            case samples, patients
            case sourceFiles = "source_files"
            case perClass = "per_class"
        }
    }

    public struct Normalization: Codable, Sendable, Equatable {
        /// How stored values become the numbers mean/std apply to.
        public var scale: String
        public var mean: Double
        public var std: Double
        public var computedOn: String

        enum CodingKeys: String, CodingKey {
            case scale, mean, std
            case computedOn = "computed_on"
        }
    }

    public struct SplitSettings: Codable, Sendable, Equatable {
        public var seed: Int
        public var method: String
        public var fractions: [String: Double]
        public var groupedBy: String

        enum CodingKeys: String, CodingKey {
            case seed, method, fractions
            case groupedBy = "grouped_by"
        }
    }

    public var format: String = "medcil-echo-shards"
    public var formatVersion: Int = 1
    public var site: String
    public var dataset: String
    public var taxonomy: TaxonomyRef
    /// All canonical classes, name -> index.
    public var classes: [String: Int]
    /// The canonical classes this site's label map produces.
    public var siteClasses: [String]
    /// Raw label (as written in the converter) -> canonical class or IGNORE.
    public var labelMap: [String: String]
    public var image: ImageFormat
    public var splits: [String: SplitCounts]
    public var normalization: Normalization
    public var split: SplitSettings
    public var configDigest: String
    public var createdBy: String

    enum CodingKeys: String, CodingKey {
        case format, site, dataset, taxonomy, classes, image, splits, normalization, split
        case formatVersion = "format_version"
        case siteClasses = "site_classes"
        case labelMap = "label_map"
        case configDigest = "config_digest"
        case createdBy = "created_by"
    }
}

/// JSON as MedCIL writes it: sorted keys, pretty, stable across runs.
enum StableJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }
}
