import ArrayFiles
import Foundation
import Support

/// One part's state and partial report, `<state>/<dataset>/parts/part-I-of-N.json`: written when
/// the part starts, at most once a second while it converts, and when it ends.
public struct PartStatus: Codable, Sendable {
    public enum State: String, Codable, Sendable { case running, done, failed }

    public var part: WorkPart
    public var state: State
    public var host: String
    public var pid: Int32
    /// Seconds since 1970.
    public var started: Double
    public var updated: Double
    /// Units of this part, those finished (converted, reused or failed), and those that failed.
    public var units: Int
    public var finished: Int = 0
    public var converted: Int = 0
    public var reused: Int = 0
    public var failedUnits: Int = 0
    /// What the conversions produced (frames decoded, slices written).
    public var work: Int = 0
    /// Why the part stopped, when it did not finish.
    public var message: String?
    /// The command that reruns this part.
    public var rerun: String

    static func url(_ stateDirectory: URL, part: WorkPart) -> URL {
        PlanFiles.parts(stateDirectory).appendingPathComponent(part.fileStem + ".json")
    }

    /// Every part status in the folder, by part.
    public static func all(in stateDirectory: URL) -> [PartStatus] {
        let folder = PlanFiles.parts(stateDirectory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasPrefix("part-") && $0.hasSuffix(".json") }.sorted()
        return names.compactMap { try? JSONDecoder().decode(PartStatus.self, from: Data(contentsOf: folder.appendingPathComponent($0))) }
    }

    /// Whether a part marked running still is: on this host, its process must exist; on
    /// another host, it must have written within `staleAfter` seconds.
    func looksAlive(now: Double = Date().timeIntervalSince1970, staleAfter: Double = 600) -> Bool {
        guard state == .running else { return false }
        if host == ProcessInfo.processInfo.hostName { return kill(pid, 0) == 0 || errno == EPERM }
        return now - updated < staleAfter
    }

    /// `running`, `done`, `failed`, or `interrupted` for a part marked running whose process is gone.
    var shownState: String {
        state == .running && !looksAlive() ? "interrupted" : state.rawValue
    }
}

/// Keeps one part's status file current while the part converts (thread-safe).
final class PartStatusWriter: @unchecked Sendable {
    private var status: PartStatus
    private let url: URL
    private let lock = NSLock()
    private var lastWrite = 0.0

    init(stateDirectory: URL, part: WorkPart, units: Int, rerun: String) throws {
        let now = Date().timeIntervalSince1970
        status = PartStatus(part: part, state: .running, host: ProcessInfo.processInfo.hostName, pid: getpid(), started: now,
                            updated: now, units: units, rerun: rerun)
        url = PartStatus.url(stateDirectory, part: part)
        try AtomicFile.ensureDirectory(url.deletingLastPathComponent())
        try write()
    }

    /// Counts one finished unit; writes the file when a second has passed since the last write.
    func unitFinished(reused: Bool, failed: Bool, work: Int) {
        lock.lock()
        defer { lock.unlock() }
        status.finished += 1
        if failed { status.failedUnits += 1 } else if reused { status.reused += 1 } else { status.converted += 1 }
        status.work += work
        let now = Date().timeIntervalSince1970
        if now - lastWrite >= 1 { try? write() }
    }

    func end(_ state: PartStatus.State, message: String? = nil) throws -> PartStatus {
        lock.lock()
        defer { lock.unlock() }
        status.state = state
        status.message = message
        try write()
        return status
    }

    /// Callers hold the lock (or are the initialiser).
    private func write() throws {
        status.updated = Date().timeIntervalSince1970
        lastWrite = status.updated
        try AtomicFile.write(try StableJSON.encode(status), to: url)
    }
}
