import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader (or a rerun after a crash) sees either the old file or
/// the complete new one, never a partial file: the bytes go to a temporary file in the
/// same directory, which is then renamed over the destination.
///
/// Temporary names start with `.tmp-`, so a rerun can recognise and remove leftovers of an
/// interrupted run (`removeStaleTemporaries`).
public enum AtomicFile {
    public static let temporaryPrefix = ".tmp-"
    nonisolated(unsafe) private static var counter = 0
    private static let counterLock = NSLock()

    /// A fresh temporary path beside `url`.
    public static func temporaryURL(for url: URL) -> URL {
        counterLock.lock()
        counter += 1
        let serial = counter
        counterLock.unlock()
        let name = "\(temporaryPrefix)\(getpid())-\(serial)-\(url.lastPathComponent)"
        return url.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Writes `data` to `url` atomically, creating the parent directory if needed.
    public static func write(_ data: Data, to url: URL) throws {
        try ensureDirectory(url.deletingLastPathComponent())
        let temporary = temporaryURL(for: url)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ArrayFileError.io("cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        close(fd)
        if let failure {
            unlink(temporary.path)
            throw ArrayFileError.io("cannot write \(url.path): \(failure)")
        }
        try commit(temporary, to: url)
    }

    /// Renames a finished temporary file onto its destination.
    public static func commit(_ temporary: URL, to url: URL) throws {
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw ArrayFileError.io("cannot move \(temporary.lastPathComponent) to \(url.path): \(reason)")
        }
    }

    /// Creates a directory and its parents if missing.
    public static func ensureDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ArrayFileError.io("cannot create directory \(url.path): \(error.localizedDescription)")
        }
    }

    /// Deletes temporaries left by interrupted runs under `directory` (recursively).
    /// Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL) -> Int {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return 0 }
        var removed = 0
        for case let url as URL in walker where url.lastPathComponent.hasPrefix(temporaryPrefix) {
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }
}
