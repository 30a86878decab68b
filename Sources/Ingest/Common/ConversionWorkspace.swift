import ArrayFiles
import Foundation
import Support

/// Where one conversion writes: the dataset folder under `--out`, and the state folder with
/// the salt, the resume records and the staging files, which hold what the shareable
/// output must not (a site copies `--out` to the fusion centre; the state stays home).
public struct ConversionWorkspace: Sendable {
    /// `<out>/<dataset>`: the shareable outputs.
    public let datasetDirectory: URL
    /// The state folder of this output folder (`StateLocation`): the salt lives here.
    public let stateRoot: URL
    /// `<state>/<dataset>`: the resume records and staging files of this dataset.
    public let stateDirectory: URL
    /// Salted identifiers (sample ids, hashed paths, record keys).
    public let hasher: SaltedHasher

    public var recordsDirectory: URL { stateDirectory.appendingPathComponent("records") }

    /// `<state root>/<dataset>`: where a workspace for `outputRoot` keeps its state, found
    /// without creating anything (the merge and `convert status` look before they write).
    public static func stateDirectory(outputRoot: URL, dataset: String, stateRoot: URL?) -> URL {
        (stateRoot ?? StateLocation.defaultRoot(for: outputRoot.standardizedFileURL)).standardizedFileURL.appendingPathComponent(dataset)
    }

    /// Creates the folders, removes temporaries an interrupted run left, and loads (or
    /// creates) the salt.
    /// - Parameters:
    ///   - stateRoot: the state folder (`--state`); nil: the default for `outputRoot`.
    ///   - saltFile: the converter's `privacy.salt_file`, when it names one; else
    ///     `<state>/salt`, created random on first use.
    ///   - removingTemporaries: false for a part of a sharded conversion: other parts may be
    ///     writing their temporaries into the same folders (the merge removes leftovers).
    public init(outputRoot: URL, dataset: String, stateRoot: URL?, saltFile: String?, removingTemporaries: Bool = true) throws {
        let output = outputRoot.standardizedFileURL
        try AtomicFile.ensureDirectory(output)
        let state = (stateRoot ?? StateLocation.defaultRoot(for: output)).standardizedFileURL
        if StateLocation.isInside(state, output) {
            throw IngestError.privacy("the state folder \(state.path) lies inside the output folder \(output.path): " +
                "the salt and the resume records must stay out of what a site shares (give --state outside --out)")
        }
        let saltURL = saltFile.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? state.appendingPathComponent("salt")
        if StateLocation.isInside(saltURL, output) {
            throw IngestError.privacy("the salt file \(saltURL.path) lies inside the output folder \(output.path): anyone given a copy of " +
                "the outputs could then recompute the hashed identifiers (keep privacy.salt_file outside --out)")
        }
        datasetDirectory = output.appendingPathComponent(dataset)
        self.stateRoot = state
        stateDirectory = state.appendingPathComponent(dataset)
        try AtomicFile.ensureDirectory(datasetDirectory)
        try AtomicFile.ensureDirectory(stateDirectory.appendingPathComponent("records"))
        if removingTemporaries {
            AtomicFile.removeStaleTemporaries(in: datasetDirectory)
            AtomicFile.removeStaleTemporaries(in: stateDirectory)
        }
        hasher = SaltedHasher(salt: try SaltedHasher.loadOrCreateSalt(at: saltURL))
    }
}

/// Where the state of an output folder lives by default: `$XDG_STATE_HOME/medcil/outputs/<key>/`
/// (else `~/.local/state/medcil/outputs/<key>/`), where `<key>` is the first 16 hex digits of
/// the SHA-256 of the output folder's absolute path. The same `--out` finds the same state,
/// so reruns resume; another `--out` gets its own salt.
public enum StateLocation {
    public static func defaultRoot(for outputRoot: URL, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base: URL
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            base = URL(fileURLWithPath: xdg)
        } else {
            let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
            base = home.appendingPathComponent(".local/state")
        }
        return base.appendingPathComponent("medcil/outputs").appendingPathComponent(key(for: outputRoot))
    }

    /// The hash that names an output folder's state folder.
    public static func key(for outputRoot: URL) -> String {
        let path = outputRoot.standardizedFileURL.resolvingSymlinksInPath().path
        return String(SHA256.hex(SHA256.hash(Array(path.utf8))).prefix(16))
    }

    /// Whether `url` is `folder` or lies below it.
    static func isInside(_ url: URL, _ folder: URL) -> Bool {
        let a = url.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        let b = folder.standardizedFileURL.resolvingSymlinksInPath().pathComponents
        return a.count >= b.count && Array(a.prefix(b.count)) == b
    }
}
