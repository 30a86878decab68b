import Foundation

/// `dataset.json`: everything a trainer (or a user leaving for PyTorch) needs to read the
/// shards: classes, label map, image format, counts, and per-site normalisation.
public struct EchoDatasetDescription: Codable, Sendable, Equatable {
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

        public init(height: Int, width: Int, framesPerSample: Int, dtype: String, layout: String, sampleShape: [Int],
                    valueRange: [Double]) {
            (self.height, self.width, self.framesPerSample, self.dtype, self.layout, self.sampleShape,
             self.valueRange) =
                (height, width, framesPerSample, dtype, layout, sampleShape, valueRange)
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

        public init(samples: Int, sourceFiles: Int, patients: Int, perClass: [String: Int]) {
            (self.samples, self.sourceFiles, self.patients, self.perClass) =
                (samples, sourceFiles, patients, perClass)
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

        public init(scale: String, mean: Double, std: Double, computedOn: String) {
            (self.scale, self.mean, self.std, self.computedOn) =
                (scale, mean, std, computedOn)
        }
    }

    public var format: String = "medcil-echo-shards"
    public var formatVersion: Int = 1
    public var site: String
    public var dataset: String
    public var taxonomy: DatasetTaxonomy
    /// All canonical classes, name -> index.
    public var classes: [String: Int]
    /// The canonical classes this site's label map produces.
    public var siteClasses: [String]
    /// Raw label (as written in the converter) -> canonical class or IGNORE.
    public var labelMap: [String: String]
    public var image: ImageFormat
    public var splits: [String: SplitCounts]
    public var normalization: Normalization
    public var split: DatasetSplitSettings
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

    public init(site: String, dataset: String, taxonomy: DatasetTaxonomy, classes: [String: Int],
                siteClasses: [String], labelMap: [String: String], image: ImageFormat, splits: [String: SplitCounts],
                normalization: Normalization, split: DatasetSplitSettings, configDigest: String, createdBy: String) {
        (self.site, self.dataset, self.taxonomy, self.classes, self.siteClasses, self.labelMap, self.image,
         self.splits, self.normalization, self.split, self.configDigest, self.createdBy) =
            (site, dataset, taxonomy, classes, siteClasses, labelMap, image, splits, normalization, split,
             configDigest, createdBy)
    }
}
