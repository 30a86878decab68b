import ArrayFiles
import Foundation
import Support

/// Where one conversion writes: the dataset folder under `--out`, and the state folder with
/// the resume records and staging files, which hold what the dataset folder must not.
public struct ConversionWorkspace: Sendable {
    /// `<out>/<dataset>`: the shareable outputs.
    public let datasetDirectory: URL
    /// The resume records and staging files of this dataset.
    public let stateDirectory: URL
    /// Salted identifiers (sample ids, hashed paths, record keys).
    public let hasher: SaltedHasher

    public var recordsDirectory: URL { stateDirectory.appendingPathComponent("records") }

    /// Creates the folders, removes temporaries an interrupted run left, and loads (or
    /// creates) the salt.
    /// - Parameter saltFile: the converter's `privacy.salt_file`, when it names one.
    public init(outputRoot: URL, dataset: String, saltFile: String?) throws {
        datasetDirectory = outputRoot.appendingPathComponent(dataset)
        let state = outputRoot.appendingPathComponent(".medcil")
        stateDirectory = state.appendingPathComponent(dataset)
        try AtomicFile.ensureDirectory(datasetDirectory)
        try AtomicFile.ensureDirectory(stateDirectory.appendingPathComponent("records"))
        AtomicFile.removeStaleTemporaries(in: datasetDirectory)
        AtomicFile.removeStaleTemporaries(in: stateDirectory)
        let saltURL = saltFile.map { URL(fileURLWithPath: $0) } ?? state.appendingPathComponent("salt")
        hasher = SaltedHasher(salt: try SaltedHasher.loadOrCreateSalt(at: saltURL))
    }
}
