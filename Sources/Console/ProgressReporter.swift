import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows how far a long job has got: a redrawn bar on a terminal, plain lines otherwise
/// (logs, CI), and nothing at all when disabled. Thread-safe: workers call `advance`.
///
/// On a TTY: `convert echo  [##########----------]  52/100 files  12.4 files/s  ETA 0:04`.
/// Elsewhere: one line per 10% or per 30 seconds, whichever comes first.
public final class ProgressReporter: @unchecked Sendable {
    public enum Mode: Sendable { case automatic, bar, lines, off }

    public let label: String
    public let unit: String
    public private(set) var total: Int
    private var done = 0
    private var extra: [String: Double] = [:]
    private let lock = NSLock()
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastLinePercent = -1
    private var lastLineTime = Date()
    private let mode: Mode
    private var finished = false

    public init(label: String, total: Int, unit: String = "items", mode: Mode = .automatic) {
        self.label = label
        self.total = total
        self.unit = unit
        switch mode {
        case .automatic: self.mode = isatty(STDERR_FILENO) == 1 ? .bar : .lines
        default: self.mode = mode
        }
    }

    /// Seconds since the reporter was created.
    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Counts `count` more items done; `counters` accumulate side totals (e.g. frames).
    public func advance(by count: Int = 1, counters: [String: Double] = [:]) {
        lock.lock()
        defer { lock.unlock() }
        done += count
        for (key, value) in counters { extra[key, default: 0] += value }
        draw(force: done >= total)
    }

    /// Changes the expected total (when it is discovered while working).
    public func setTotal(_ newTotal: Int) {
        lock.lock()
        total = newTotal
        lock.unlock()
    }

    /// Ends the bar line (on a TTY) so that later output starts on a fresh line.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        draw(force: true)
        if mode == .bar { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(force: Bool) {
        let now = Date()
        switch mode {
        case .off:
            return
        case .bar:
            guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = "\r\(label)  [\(bar)] \(status(now: now))\u{1B}[K"
            FileHandle.standardError.write(Data(line.utf8))
        case .lines, .automatic:
            let percent = total > 0 ? done * 100 / total : 0
            let due = percent / 10 > lastLinePercent / 10 || now.timeIntervalSince(lastLineTime) >= 30
            guard (force && percent != lastLinePercent) || (due && percent != lastLinePercent) else { return }
            lastLinePercent = percent
            lastLineTime = now
            FileHandle.standardError.write(Data("\(label): \(status(now: now))\n".utf8))
        }
    }

    private func status(now: Date) -> String {
        let seconds = max(now.timeIntervalSince(start), 1e-6)
        let rate = Double(done) / seconds
        var text = "\(done)/\(total) \(unit)  \(Self.rate(rate)) \(unit)/s"
        for key in extra.keys.sorted() {
            text += "  \(Self.rate((extra[key] ?? 0) / seconds)) \(key)/s"
        }
        if done > 0 && done < total {
            text += "  ETA \(Self.clock(Double(total - done) / max(rate, 1e-9)))"
        }
        return text
    }

    /// `12.3`, `1234`: enough digits to read a rate at a glance.
    public static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    /// `m:ss` or `h:mm:ss`.
    public static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
