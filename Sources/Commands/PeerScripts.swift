import ArgumentParser
import Console
import Foundation

/// The Python peers the benchmarks run side by side with MedCIL. They live in the checkout's
/// `python/peers/` with the rest of the Python tooling, not inside the executable, so they are
/// looked up on disk: in the folder `MEDCIL_PEERS` names when it is set (and only there),
/// otherwise in `python/peers` above the running executable (a build sits at
/// `<checkout>/.build/<configuration>/medcil`), then above the working directory.
enum PeerScript {
    static let folderVariable = "MEDCIL_PEERS"
    static let checkoutFolder = "python/peers"

    static func path(named name: String) throws -> URL {
        let folders = searchFolders(environment: ProcessInfo.processInfo.environment,
                                    executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                                    workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        for folder in folders {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw ValidationError("peer script \(name) not found in \(folders.map(\.path).joined(separator: ", ")); set \(folderVariable) " +
                              "to the folder that holds it (\(checkoutFolder) in a MedCIL checkout)")
    }

    /// Where to look, most specific first, without repeats.
    static func searchFolders(environment: [String: String], executable: URL, workingDirectory: URL) -> [URL] {
        if let folder = environment[folderVariable], !folder.isEmpty { return [URL(fileURLWithPath: folder)] }
        var folders: [URL] = []
        for start in [executable.deletingLastPathComponent(), workingDirectory] {
            var directory = start.standardizedFileURL.path
            while true {
                let candidate = URL(fileURLWithPath: directory).appendingPathComponent(checkoutFolder)
                if !folders.contains(candidate) { folders.append(candidate) }
                let parent = (directory as NSString).deletingLastPathComponent
                if parent == directory || parent.isEmpty { break }
                directory = parent
            }
        }
        return folders
    }

    /// Runs the script and returns the `seconds` of each JSON line it prints; throws when it
    /// fails (e.g. the peer's packages are not installed).
    static func run(python: String, script: URL, arguments: [String]) throws -> [Double] {
        let (status, output) = try Subprocess.run(python, [script.path] + arguments)
        guard status == 0 else {
            throw ValidationError("peer \(script.lastPathComponent) failed: \(output.suffix(400))")
        }
        return output.split(separator: "\n").compactMap { line in
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return object["seconds"] as? Double
        }
    }
}
