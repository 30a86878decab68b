import Foundation
import NiftiIO
import Support

/// What a converted volume produced, kept in the state folder (`<state>/<dataset>/records/`,
/// outside `--out`) so that a
/// rerun skips it (same fingerprint, outputs present) and rebuilds dataset.json, the manifest
/// and the report byte for byte from records alone.
public struct MRConversionRecord: ResumeRecord, Equatable {
    public struct Slice: Codable, Sendable, Equatable {
        public var summary: MRVolumeProcessor.SliceSummary
        /// Paths relative to the dataset folder.
        public var image: String
        public var mask: String
    }

    public var fingerprint: String
    public var key: String
    /// Salted hashes of the image's and the label volume's paths (`SaltedHasher.sourcePath`).
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

extension MRConversionRecord {
    /// Every slice's image and mask in the dataset folder.
    public func outputPaths(in workspace: ConversionWorkspace) -> [URL] {
        slices.flatMap { [workspace.datasetDirectory.appendingPathComponent($0.image), workspace.datasetDirectory.appendingPathComponent($0.mask)] }
    }
}
