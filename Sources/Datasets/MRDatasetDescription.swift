import Foundation

/// `dataset.json` of an MR slice dataset: nnU-Net's keys (`channel_names`, `labels` name ->
/// consecutive index with background 0, `numTraining`, `file_ending`) plus what incremental
/// training across sites needs: which classes this site annotates (a 0 in its masks means
/// "none of these", not "background" for the others), the geometry and orientation
/// convention, and the intensity statistics of every volume.
public struct MRDatasetDescription: Codable, Sendable, Equatable {
    public struct ImageFormat: Codable, Sendable, Equatable {
        public var height: Int
        public var width: Int
        public var dtype: String
        public var maskDtype: String
        public var sampleShape: [Int]
        public var image: String
        public var mask: String
        public var maskValues: String

        enum CodingKeys: String, CodingKey {
            case height, width, dtype, image, mask
            case maskDtype = "mask_dtype"
            case sampleShape = "sample_shape"
            case maskValues = "mask_values"
        }

        public init(height: Int, width: Int, dtype: String, maskDtype: String, sampleShape: [Int], image: String,
                    mask: String, maskValues: String) {
            (self.height, self.width, self.dtype, self.maskDtype, self.sampleShape, self.image, self.mask,
             self.maskValues) =
                (height, width, dtype, maskDtype, sampleShape, image, mask, maskValues)
        }
    }

    public struct Geometry: Codable, Sendable, Equatable {
        public var orientation: String
        public var reorientation: String
        public var sliceAxis: String
        /// What H and W of a slice run along.
        public var sliceAxes: [String: String]
        /// The numpy expression that gives slice k from nibabel's canonical volume.
        public var slicing: String
        public var targetSpacing: [Double]?
        public var fit: String
        public var size: [Int]
        public var padding: String

        enum CodingKeys: String, CodingKey {
            case orientation, reorientation, slicing, fit, size, padding
            case sliceAxis = "slice_axis"
            case sliceAxes = "slice_axes"
            case targetSpacing = "target_spacing"
        }

        public init(orientation: String, reorientation: String, sliceAxis: String, sliceAxes: [String: String],
                    slicing: String, targetSpacing: [Double]?, fit: String, size: [Int], padding: String) {
            (self.orientation, self.reorientation, self.sliceAxis, self.sliceAxes, self.slicing, self.targetSpacing,
             self.fit, self.size, self.padding) =
                (orientation, reorientation, sliceAxis, sliceAxes, slicing, targetSpacing, fit, size, padding)
        }
    }

    public struct Intensity: Codable, Sendable, Equatable {
        public var normalization: String
        public var clipPercentiles: [Double]
        public var percentileDefinition: String
        /// Mean and standard deviation of the stored image values over the training split.
        public var trainMean: Double
        public var trainStd: Double

        enum CodingKeys: String, CodingKey {
            case normalization
            case clipPercentiles = "clip_percentiles"
            case percentileDefinition = "percentile_definition"
            case trainMean = "train_mean"
            case trainStd = "train_std"
        }

        public init(normalization: String, clipPercentiles: [Double], percentileDefinition: String,
                    trainMean: Double, trainStd: Double) {
            (self.normalization, self.clipPercentiles, self.percentileDefinition, self.trainMean, self.trainStd) =
                (normalization, clipPercentiles, percentileDefinition, trainMean, trainStd)
        }
    }

    public struct VolumeEntry: Codable, Sendable, Equatable {
        public var split: String
        public var slices: Int
        public var storedShape: [Int]
        public var storedAxisCodes: [String]
        public var storedAffine: [[Double]]
        public var canonicalShape: [Int]
        public var canonicalAffine: [[Double]]
        public var canonicalSpacing: [Double]
        public var sliceSpacing: [Double]
        public var intensity: VolumeIntensity

        enum CodingKeys: String, CodingKey {
            case split, slices, intensity
            case storedShape = "stored_shape"
            case storedAxisCodes = "stored_axis_codes"
            case storedAffine = "stored_affine"
            case canonicalShape = "canonical_shape"
            case canonicalAffine = "canonical_affine"
            case canonicalSpacing = "canonical_spacing"
            case sliceSpacing = "slice_spacing"
        }

        public init(split: String, slices: Int, storedShape: [Int], storedAxisCodes: [String],
                    storedAffine: [[Double]], canonicalShape: [Int], canonicalAffine: [[Double]],
                    canonicalSpacing: [Double], sliceSpacing: [Double], intensity: VolumeIntensity) {
            (self.split, self.slices, self.storedShape, self.storedAxisCodes, self.storedAffine, self.canonicalShape,
             self.canonicalAffine, self.canonicalSpacing, self.sliceSpacing, self.intensity) =
                (split, slices, storedShape, storedAxisCodes, storedAffine, canonicalShape, canonicalAffine,
                 canonicalSpacing, sliceSpacing, intensity)
        }
    }

    /// A volume's intensity statistics (the converter's per-volume normalisation).
    public struct VolumeIntensity: Codable, Sendable, Equatable {
        /// Percentile values (in the image's scaled units) the volume was clipped to.
        public var low: Double
        public var high: Double
        /// Mean and standard deviation (population) of the clipped volume.
        public var mean: Double
        public var std: Double
        /// `zscore` or `minmax`.
        public var method: String

        public init(low: Double, high: Double, mean: Double, std: Double, method: String) {
            (self.low, self.high, self.mean, self.std, self.method) = (low, high, mean, std, method)
        }

        enum CodingKeys: String, CodingKey {
            case low = "clip_low"
            case high = "clip_high"
            case mean, std, method
        }
    }

    public struct SplitCounts: Codable, Sendable, Equatable {
        public var volumes: Int
        public var subjects: Int
        public var slices: Int
        public var emptySlices: Int
        /// Annotated class -> slices where it is present.
        public var slicesWith: [String: Int]

        enum CodingKeys: String, CodingKey {
            case volumes, subjects, slices
            case emptySlices = "empty_slices"
            case slicesWith = "slices_with"
        }

        public init(volumes: Int, subjects: Int, slices: Int, emptySlices: Int, slicesWith: [String: Int]) {
            (self.volumes, self.subjects, self.slices, self.emptySlices, self.slicesWith) =
                (volumes, subjects, slices, emptySlices, slicesWith)
        }
    }

    public var format = "medcil-mr-slices"
    public var formatVersion = 1
    public var site: String
    public var dataset: String
    public var channelNames: [String: String]
    public var labels: [String: Int]
    public var classes: [String]
    public var annotatedClasses: [String]
    public var notAnnotatedClasses: [String]
    public var labelMap: [String: String]
    public var unlistedValues: String
    public var taxonomy: DatasetTaxonomy
    public var fileEnding = ".npy"
    public var numTraining: Int
    public var image: ImageFormat
    public var geometry: Geometry
    public var intensity: Intensity
    public var volumes: [String: VolumeEntry]
    public var splits: [String: SplitCounts]
    public var split: DatasetSplitSettings
    public var configDigest: String
    public var createdBy: String

    enum CodingKeys: String, CodingKey {
        case format, site, dataset, labels, classes, taxonomy, numTraining, image, geometry, intensity, volumes, splits, split
        case formatVersion = "format_version"
        case channelNames = "channel_names"
        case annotatedClasses = "annotated_classes"
        case notAnnotatedClasses = "not_annotated_classes"
        case labelMap = "label_map"
        case unlistedValues = "unlisted_values"
        case fileEnding = "file_ending"
        case configDigest = "config_digest"
        case createdBy = "created_by"
    }

    public init(site: String, dataset: String, channelNames: [String: String], labels: [String: Int],
                classes: [String], annotatedClasses: [String], notAnnotatedClasses: [String],
                labelMap: [String: String], unlistedValues: String, taxonomy: DatasetTaxonomy, numTraining: Int,
                image: ImageFormat, geometry: Geometry, intensity: Intensity, volumes: [String: VolumeEntry],
                splits: [String: SplitCounts], split: DatasetSplitSettings, configDigest: String, createdBy: String) {
        (self.site, self.dataset, self.channelNames, self.labels, self.classes, self.annotatedClasses,
         self.notAnnotatedClasses, self.labelMap, self.unlistedValues, self.taxonomy, self.numTraining, self.image,
         self.geometry, self.intensity, self.volumes, self.splits, self.split, self.configDigest, self.createdBy) =
            (site, dataset, channelNames, labels, classes, annotatedClasses, notAnnotatedClasses, labelMap,
             unlistedValues, taxonomy, numTraining, image, geometry, intensity, volumes, splits, split, configDigest,
             createdBy)
    }
}
