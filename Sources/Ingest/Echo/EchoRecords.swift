import Foundation
import Support

/// What a converted source file produced, kept in the state folder (`<state>/<dataset>/records/`,
/// outside `--out`) so that
/// a rerun skips it (same fingerprint, outputs present) and rebuilds the manifest, the
/// statistics and the report byte for byte from records alone.
public struct ConversionRecord: ResumeRecord, Equatable {
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
    /// Salted hash of the source path (`SaltedHasher.sourcePath`): records hold no clear path.
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

extension ConversionRecord {
    /// Sample files in the dataset folder, or the staging file in the state folder.
    public func outputPaths(in workspace: ConversionWorkspace) -> [URL] {
        samples.map { sample in
            if let file = sample.file { return workspace.datasetDirectory.appendingPathComponent(file) }
            guard let packed = sample.packed else { return workspace.datasetDirectory }
            return (packed.staging ? workspace.stateDirectory : workspace.datasetDirectory).appendingPathComponent(packed.file)
        }
    }
}
