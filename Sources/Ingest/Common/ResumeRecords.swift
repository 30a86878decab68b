import ArrayFiles
import Foundation
import Support

/// A record of what one converted unit (a cine, a volume) produced, kept in the state folder
/// so that a rerun reuses it when nothing that determines its outputs has changed.
public protocol ResumeRecord: Codable, Sendable {
    /// SHA-256 of everything that determines the unit's outputs (see `ResumeRecords.fingerprint`).
    var fingerprint: String { get }
    /// Output paths relative to the dataset folder that must exist for the record to be reused.
    func outputPaths(in workspace: ConversionWorkspace) -> [URL]
}

/// The records folder of a conversion: one JSON file per unit, named by a salted hash.
struct ResumeRecords {
    let workspace: ConversionWorkspace

    func url(key: String) -> URL { workspace.recordsDirectory.appendingPathComponent(key + ".json") }

    /// The record saved under `key`, when its fingerprint matches and its outputs exist.
    func reusable<Record: ResumeRecord>(_ type: Record.Type, key: String, fingerprint: String) -> Record? {
        guard let data = try? Data(contentsOf: url(key: key)),
              let record = try? JSONDecoder().decode(Record.self, from: data),
              record.fingerprint == fingerprint,
              record.outputPaths(in: workspace).allSatisfy({ FileManager.default.fileExists(atPath: $0.path) })
        else { return nil }
        return record
    }

    func save<Record: ResumeRecord>(_ record: Record, key: String) throws {
        try AtomicFile.write(try StableJSON.encode(record), to: url(key: key))
    }

    /// SHA-256 (hex) of a value's stable JSON: the fingerprint of what determines a unit's outputs.
    static func fingerprint<Key: Encodable>(_ key: Key) -> String {
        let data = (try? StableJSON.encode(key)) ?? Data()
        return SHA256.hex(SHA256.hash(Array(data)))
    }
}
