import ArrayFiles
import Foundation
import Support

/// The settings a run or a model was made with, written as `config.resolved.yaml` beside its
/// outputs (sorted keys: the same settings always give the same bytes, which is also how a
/// rerun recognises the run it continues).
public enum ResolvedConfig {
    public static let file = "config.resolved.yaml"

    public static func text<T: Encodable>(_ settings: T) throws -> String { try ConfigLoader.yaml(settings) }

    public static func write<T: Encodable>(_ settings: T, to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        try AtomicFile.write(Data(try text(settings).utf8), to: folder.appendingPathComponent(file))
    }
}
