import Foundation
import Support

/// One file under the input folder.
public struct InputFile: Codable, Sendable, Equatable {
    /// Path relative to the input folder, `/`-separated.
    public var relativePath: String
    public var url: URL
    public var size: Int64
    /// Modification time (seconds since 1970), part of the resume fingerprint.
    public var modified: Double
    /// Why the file is not considered (glob rules), or nil.
    public var excludedBecause: String?
}

/// Walks an input folder (any nesting; hidden folders skipped unless included) and applies
/// the include/exclude globs. Files come back sorted by relative path, so every later step
/// sees them in the same order on every run.
public enum InputScanner {
    public static func scan(root: URL, spec: InputSpec) throws -> [InputFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigError("input folder \(root.path) does not exist")
        }
        let includes = try spec.include.map(Glob.init)
        let excludes = try spec.exclude.map(Glob.init)
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else {
            throw IngestError.io("cannot list \(root.path)")
        }
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        var files: [InputFile] = []
        for case let url as URL in walker {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else { continue }
            let full = url.standardizedFileURL.resolvingSymlinksInPath().path
            var relative = full.hasPrefix(rootPath) ? String(full.dropFirst(rootPath.count)) : url.lastPathComponent
            while relative.hasPrefix("/") { relative.removeFirst() }
            var reason: String?
            if !includes.contains(where: { $0.matches(relative) }) {
                reason = "not matched by input.include (\(spec.include.joined(separator: ", ")))"
            } else if let rule = excludes.first(where: { $0.matches(relative) }) {
                reason = "excluded by input.exclude '\(rule)'"
            }
            files.append(InputFile(relativePath: relative, url: url, size: Int64(values.fileSize ?? 0),
                                   modified: values.contentModificationDate?.timeIntervalSince1970 ?? 0,
                                   excludedBecause: reason))
        }
        return files.sorted { $0.relativePath < $1.relativePath }
    }
}
