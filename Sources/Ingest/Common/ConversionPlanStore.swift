import ArrayFiles
import Foundation
import Support

/// The plan of a sharded conversion, as `--plan-only` writes it to `<state>/<dataset>/plan.json`:
/// the converter and input it was made for, and the scan (source paths, header facts, patient
/// keys). It holds what identifies patients, so it lives in the private state folder, never
/// under `--out`.
struct StoredPlan<Config: Codable, Scan: Codable>: Codable {
    var format = 1
    var kind: String
    var dataset: String
    /// The converter file (relative paths in it start at its folder) and the export.
    var configPath: String
    var inputPath: String
    /// The resolved converter (command-line overrides applied), so that the merge, given only
    /// `--out`, converts with exactly the settings the parts used.
    var config: Config
    /// `DescriptionParts.configDigest` of that converter: a part run with other settings is refused.
    var configDigest: String
    /// A salted hash of a fixed text: a part whose state folder has another salt is refused
    /// (its identifiers would not match the other parts').
    var saltCheck: String
    /// The command line that made the plan: each part's rerun command is derived from it.
    var command: [String]
    var units: Int
    var scan: Scan

}

/// A salted hash of a fixed text: a part whose state folder has another salt is refused.
func planSaltCheck(_ hasher: SaltedHasher) -> String { hasher.hash("medcil-plan", kind: "salt-check", length: 16) }

/// Only the head of a stored plan, readable without knowing the converter kind.
struct StoredPlanHead: Codable {
    var kind: String
    var dataset: String
    var command: [String]
    var units: Int
}

/// Files of a sharded conversion in `<state>/<dataset>/`: `plan.json`, `parts/part-I-of-N.json`
/// (each part's state and partial report) and `failures/<record key>.json` (units that failed,
/// for the merge to report as a single run would).
enum PlanFiles {
    static func plan(_ stateDirectory: URL) -> URL { stateDirectory.appendingPathComponent("plan.json") }
    static func parts(_ stateDirectory: URL) -> URL { stateDirectory.appendingPathComponent("parts") }
    static func failures(_ stateDirectory: URL) -> URL { stateDirectory.appendingPathComponent("failures") }

    static func head(_ stateDirectory: URL) throws -> StoredPlanHead {
        let url = plan(stateDirectory)
        guard let data = try? Data(contentsOf: url) else {
            throw IngestError.parts("no conversion plan at \(url.path): run `medcil convert echo|mr ... --plan-only` first " +
                "(with the --out and --state the parts use)")
        }
        do {
            return try JSONDecoder().decode(StoredPlanHead.self, from: data)
        } catch {
            throw IngestError.parts("\(url.path) is not a conversion plan (\(error)): run --plan-only again")
        }
    }

    static func load<Config: Codable, Scan: Codable>(_ config: Config.Type, _ scan: Scan.Type, from stateDirectory: URL) throws -> StoredPlan<Config, Scan> {
        _ = try head(stateDirectory)
        let url = plan(stateDirectory)
        do {
            return try JSONDecoder().decode(StoredPlan<Config, Scan>.self, from: Data(contentsOf: url))
        } catch {
            throw IngestError.parts("\(url.path) cannot be read as a plan of this kind (\(error)): run --plan-only again")
        }
    }

    /// Writes the plan (mode 0600: it names patients' files) and forgets the parts of any earlier plan.
    static func save<Config: Codable, Scan: Codable>(_ stored: StoredPlan<Config, Scan>, to stateDirectory: URL) throws {
        let url = plan(stateDirectory)
        try AtomicFile.write(try StableJSON.encode(stored), to: url)
        _ = chmod(url.path, 0o600)
        try? FileManager.default.removeItem(at: parts(stateDirectory))
        try? FileManager.default.removeItem(at: failures(stateDirectory))
    }

    /// The command that runs `part`: the plan's command with `--plan-only` replaced by `--shard I/N`.
    static func rerunCommand(_ command: [String], part: WorkPart) -> String {
        var words = command.filter { $0 != "--plan-only" }
        if words.isEmpty { words = ["medcil", "convert", "..."] }
        words[0] = "medcil"
        return (words + ["--shard", part.description]).map(shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./=:,@%+".unicodeScalars.contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// A unit that failed in a part, kept so that the merge reports it exactly as one run would.
public struct StoredUnitFailure: Codable, Sendable {
    /// The unit's fingerprint when it failed: a failure of other inputs or settings is stale.
    public var fingerprint: String = ""
    /// The error's text (`"\(error)"`).
    public var reason: String
    /// The converter's kind of failure (echo: `skip` or `error`; MR: the file at fault).
    public var category: String
    /// MR: label values not in the map, with voxel counts.
    public var unlistedValues: [String: Int]?

    public init(reason: String, category: String, unlistedValues: [String: Int]? = nil) {
        self.reason = reason
        self.category = category
        self.unlistedValues = unlistedValues
    }
}

/// An error restored from a `StoredUnitFailure`: prints as the original did.
public struct RestoredUnitError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The failure records of a state folder, one file per unit key.
struct UnitFailures {
    let directory: URL

    func url(key: String) -> URL { directory.appendingPathComponent(key + ".json") }

    func save(_ failure: StoredUnitFailure, key: String) throws {
        try AtomicFile.ensureDirectory(directory)
        try AtomicFile.write(try StableJSON.encode(failure), to: url(key: key))
    }

    func remove(key: String) { try? FileManager.default.removeItem(at: url(key: key)) }

    /// The failure saved under `key`, when its fingerprint is the unit's current one.
    func current(key: String, fingerprint: String) -> StoredUnitFailure? {
        guard let data = try? Data(contentsOf: url(key: key)),
              let failure = try? JSONDecoder().decode(StoredUnitFailure.self, from: data),
              failure.fingerprint == fingerprint else { return nil }
        return failure
    }
}
