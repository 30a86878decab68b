import Foundation

/// The hostile DICOM and NIfTI files `Tests/Oracles/hostile_corpus.py` crafts, and its
/// manifest of what a reader must say about each.
public enum HostileCorpus {
    public struct Entry: Decodable, Sendable {
        /// "dicom" or "nifti".
        public var kind: String
        /// Path relative to the corpus folder.
        public var file: String
        /// A piece of the one-line error the reader must give ("" for any).
        public var expect: String
        /// Where the error must come from: "open", "decode", "orientation", "open-or-decode",
        /// "reads" for oddities every reader accepts, "convert" for files that read but must
        /// fail a conversion.
        public var stage: String
    }

    /// A committed regression file, `fixtures/hostile/<relative>`; missing is an error.
    public static func regressionFile(_ relative: String) throws -> String {
        let path = TestPaths.root.appendingPathComponent("fixtures/hostile/\(relative)").path
        guard FileManager.default.fileExists(atPath: path) else { throw TestSupportError("missing regression file fixtures/hostile/\(relative)") }
        return path
    }

    /// Writes the corpus into `folder` and returns its manifest.
    public static func generate(into folder: URL) throws -> [Entry] {
        try runOracle("hostile_corpus.py", [folder.path])
        return try JSONDecoder().decode([Entry].self, from: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
    }
}
