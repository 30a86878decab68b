import Console
import Foundation
import Support

/// What one conversion run is asked to do: the converter file, the export, the output root.
public struct ConversionRequest: Sendable {
    /// The converter file (relative paths inside it, such as the taxonomy, start at its folder).
    public var configURL: URL
    public var inputRoot: URL
    public var outputRoot: URL
    /// The state folder (salt, resume records); nil: the default for `outputRoot` (`StateLocation`).
    public var stateRoot: URL?
    public var workers: Int
    public var progressMode: ProgressReporter.Mode

    public init(configURL: URL, inputRoot: URL, outputRoot: URL, stateRoot: URL? = nil, workers: Int,
                progressMode: ProgressReporter.Mode = .automatic) {
        self.configURL = configURL
        self.inputRoot = inputRoot
        self.outputRoot = outputRoot
        self.stateRoot = stateRoot
        self.workers = max(1, workers)
        self.progressMode = progressMode
    }

    /// A path the converter names, relative to the converter's folder.
    func resolve(_ path: String) -> URL {
        URL(fileURLWithPath: path, relativeTo: configURL.deletingLastPathComponent()).standardizedFileURL
    }
}

/// What every site converter's config has: the names of its outputs, the output size, the
/// split and the privacy settings (what the command line may override).
public protocol ConverterSettings: Codable, Sendable {
    associatedtype Geometry: OutputGeometry
    var site: String { get }
    var dataset: String { get }
    var geometry: Geometry { get set }
    var split: SplitSpec { get set }
    var privacy: PrivacySpec { get set }
    /// Checks every key (`validateCommonKeys` and the kind's own).
    func validate() throws
}

extension ConverterSettings {
    /// The config without the salt file's location: it points into the site's private state
    /// and does not change the data, so neither the config digest nor the resolved config
    /// written next to the data carries it.
    var withoutSaltLocation: Self {
        var copy = self
        copy.privacy.saltFile = nil
        return copy
    }
}

/// A converter's `geometry`: whatever else it holds, the output size.
public protocol OutputGeometry: Codable, Sendable {
    /// `[height, width]` of every sample or slice.
    var size: [Int] { get set }
}

extension ConverterSettings {
    /// The checks of the keys every converter has: names, output size and split.
    public func validateCommonKeys() throws {
        try ConverterHead.validate(site: site, dataset: dataset)
        try OutputSize.validate(geometry.size, key: "geometry.size")
        try split.validate()
    }

    /// The converter file at `url` with `overrides` (the command line's) applied, validated.
    public static func load(from url: URL, overrides: (inout Self) -> Void = { _ in }) throws -> Self {
        var config = try ConfigLoader.load(Self.self, from: url)
        overrides(&config)
        try config.validate()
        return config
    }
}

/// How a converter's units of work are named in progress lines and summaries.
public struct ConversionVocabulary: Sendable {
    /// Progress label, e.g. "convert echo".
    public var label: String
    /// One unit of work, e.g. "file", "volume".
    public var unit: String
    /// What a unit's conversion produces, counted for throughput, e.g. "frames decoded".
    public var work: String
    /// The counter's short name in progress lines, e.g. "frames".
    public var workCounter: String
}

/// How one unit of work ended: its record (converted now or reused), or the error that
/// stopped it. A unit's error never ends the run: it becomes that unit's fate in the report.
public struct UnitOutcome<Record: Sendable>: Sendable {
    public var record: Record?
    public var reused = false
    public var error: (any Error)?
}

/// What a converter's last phase hands back for the skeleton to write.
public struct ConversionResult<Description: Encodable & Sendable, Report: Encodable & Sendable> {
    public var description: Description
    public var report: Report
    public var manifest: String
    /// Output files (relative to the dataset folder) that this run's records use; `.npy`
    /// files in the split folders outside this set are stale and removed.
    public var keep: Set<String>
    /// File names in the split folders kept even when no record names them.
    public var keepNames: Set<String> = []
    /// The report text (also written to report.txt); only what the inputs determine.
    public var reportText: String
    /// How many units the throughput line counts.
    public var throughputUnits: Int
    /// Inputs that were meant to convert and did not (failed, skipped, unpaired, unmapped).
    public var notConverted: Int
}

/// A dataset kind's converter (echo cines, MR volumes): it plans its units from the export,
/// converts one unit, and assembles the descriptions; `ConversionSkeleton` does the rest
/// (workspace, parallel conversion, resume records, pruning, atomic writes, summary).
public protocol DatasetConverter {
    associatedtype Config: ConverterSettings
    associatedtype Plan
    associatedtype Record: ResumeRecord
    associatedtype Description: Encodable & Sendable
    associatedtype Report: Encodable & Sendable

    var config: Config { get }
    var request: ConversionRequest { get }
    init(config: Config, request: ConversionRequest)

    static var vocabulary: ConversionVocabulary { get }

    /// What the plan is made from, read from the export without decoding any pixel (the file
    /// listing, headers, label sources). `--plan-only` stores it in the state folder, so that
    /// the parts of a sharded conversion plan from it instead of reading the export again.
    associatedtype Scan: Codable
    /// The kind's name in commands and stored plans: `echo`, `mr`.
    static var kind: String { get }

    /// Walks the export and reads what the plan needs.
    func scan() throws -> Scan
    /// Resolves labels, pairs files, assigns splits: everything before the units are converted.
    func plan(from scan: Scan, in workspace: ConversionWorkspace) throws -> Plan
    /// The group a unit must share a part with (its patient or subject, so a part never splits
    /// one), and its estimated work (frames x pixels, voxels) for balancing the parts.
    func partitionKey(unit: Int, plan: Plan) -> (group: String, work: Int)
    /// A unit's error as a part stores it for the merge, and the error the merge hands `finish`
    /// in its place: `finish` must describe both alike.
    func storedFailure(_ error: any Error) -> StoredUnitFailure
    func restoredError(_ failure: StoredUnitFailure) -> any Error
    func unitCount(_ plan: Plan) -> Int
    /// The record's file name (a salted hash, never a clear path) and the fingerprint of
    /// everything that determines the unit's outputs.
    func resumeKey(unit: Int, plan: Plan, workspace: ConversionWorkspace) -> (key: String, fingerprint: String)
    /// Converts one unit, writing its outputs into the dataset folder.
    func convert(unit: Int, plan: Plan, key: String, fingerprint: String, workspace: ConversionWorkspace) throws -> Record
    /// What the unit produced, for throughput (frames decoded, slices written).
    func work(_ record: Record) -> Int
    /// Fates, layout, descriptions, manifest and report from all outcomes, in unit order.
    func finish(plan: Plan, outcomes: [UnitOutcome<Record>], workspace: ConversionWorkspace) throws -> ConversionResult<Description, Report>
}

extension DatasetConverter {
    /// What `run()` returns.
    public typealias Summary = ConversionSummary<Description, Report>

    public init(config: Config, configURL: URL, inputRoot: URL, outputRoot: URL, stateRoot: URL? = nil, workers: Int,
                progressMode: ProgressReporter.Mode = .automatic) {
        self.init(config: config, request: ConversionRequest(configURL: configURL, inputRoot: inputRoot, outputRoot: outputRoot,
                                                             stateRoot: stateRoot, workers: workers, progressMode: progressMode))
    }

    /// Runs the whole conversion (see `ConversionSkeleton`).
    public func run() throws -> Summary {
        try ConversionSkeleton.run(self)
    }

    /// Scans the export and plans from it.
    func plan(in workspace: ConversionWorkspace) throws -> Plan {
        try plan(from: scan(), in: workspace)
    }
}
