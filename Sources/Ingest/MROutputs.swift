import Foundation
import NiftiIO

/// What a converted volume produced, kept in `<out>/.medcil/<dataset>/records/` so that a
/// rerun skips it (same fingerprint, outputs present) and rebuilds dataset.json, the manifest
/// and the report byte for byte from records alone.
public struct MRConversionRecord: Codable, Sendable, Equatable {
    public struct Slice: Codable, Sendable, Equatable {
        public var summary: MRVolumeProcessor.SliceSummary
        /// Paths relative to the dataset folder.
        public var image: String
        public var mask: String
    }

    public var fingerprint: String
    public var key: String
    public var image: String
    public var label: String
    public var volume: String
    public var split: String
    /// Salted hash of the subject, when the converter derives subjects.
    public var subject: String?
    public var storedShape: [Int]
    public var canonicalShape: [Int]
    public var storedAffine: Affine
    public var canonicalAffine: Affine
    public var storedAxisCodes: [String]
    public var canonicalSpacing: [Double]
    public var sliceSpacing: [Double]
    public var resampledSize: [Int]
    public var normalization: IntensityNormalization
    /// Unlisted label value (as text) -> voxels set to 0 (unlisted_values: ignore).
    public var ignoredValues: [String: Int]
    public var slices: [Slice]
}

/// The fate of one input file, as `report.json` lists it.
public struct MRInputFate: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        case image
        case label
        /// Neither pattern matched, or the file was excluded.
        case other
    }

    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case converted
        case excluded
        case unpaired
        case unmappedLabel = "unmapped-label"
        case failed
    }

    public var source: String
    public var role: Role
    public var outcome: Outcome
    public var reason: String?
    public var volume: String?
    /// The other file of the pair (rendered like `source`).
    public var pairedWith: String?
    public var split: String?
    public var slices: Int
    /// For files not converted: true when this file is the cause (its reason says why),
    /// false for the partner of a file that failed (the reason names that file).
    public var cause: Bool

    enum CodingKeys: String, CodingKey {
        case source, role, outcome, reason, volume, split, slices, cause
        case pairedWith = "paired_with"
    }
}

/// `report.json`: every input file with its fate, and the run's totals.
public struct MRConversionReport: Codable, Sendable {
    public var site: String
    public var dataset: String
    public var inputs: [MRInputFate]
    public var totals: [String: Int]
    /// Label value -> volumes that failed because the map does not list it (unlisted_values: error).
    public var unlistedValues: [String: Int]
    /// Label value -> voxels set to 0 because the map does not list it (unlisted_values: ignore).
    public var ignoredValues: [String: Int]
    public var slicesPerSplit: [String: Int]

    enum CodingKeys: String, CodingKey {
        case site, dataset, inputs, totals
        case unlistedValues = "unlisted_values"
        case ignoredValues = "ignored_values"
        case slicesPerSplit = "slices_per_split"
    }
}

/// `dataset.json` of an MR slice dataset: nnU-Net's keys (`channel_names`, `labels` name ->
/// consecutive index with background 0, `numTraining`, `file_ending`) plus what incremental
/// training across sites needs: which classes this site annotates (a 0 in its masks means
/// "none of these", not "background" for the others), the geometry and orientation
/// convention, and the intensity statistics of every volume.
public struct MRDatasetDescription: Codable, Sendable, Equatable {
    public struct TaxonomyRef: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

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
    }

    public struct VolumeEntry: Codable, Sendable, Equatable {
        public var split: String
        public var slices: Int
        public var storedShape: [Int]
        public var storedAxisCodes: [String]
        public var storedAffine: Affine
        public var canonicalShape: [Int]
        public var canonicalAffine: Affine
        public var canonicalSpacing: [Double]
        public var sliceSpacing: [Double]
        public var intensity: IntensityNormalization

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
    public var taxonomy: TaxonomyRef
    public var fileEnding = ".npy"
    public var numTraining: Int
    public var image: ImageFormat
    public var geometry: Geometry
    public var intensity: Intensity
    public var volumes: [String: VolumeEntry]
    public var splits: [String: SplitCounts]
    public var split: SplitSettings
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
}
