import ArgumentParser
import Console
import Foundation

/// How progress is shown.
public enum ProgressStyle: String, ExpressibleByArgument, CaseIterable, Sendable {
    case auto, bar, lines, off

    var mode: ProgressReporter.Mode {
        switch self {
        case .auto: return .automatic
        case .bar: return .bar
        case .lines: return .lines
        case .off: return .off
        }
    }
}

/// Options every long-running subcommand shares.
public struct SharedOptions: ParsableArguments {
    @Option(help: "Progress display: \(ProgressStyle.allCases.map(\.rawValue).joined(separator: ", ")) (auto: a bar on a terminal, plain lines otherwise).")
    public var progress: ProgressStyle = .auto

    @Option(help: "Worker threads (default: all cores).")
    public var threads: Int?

    public init() {}

    public mutating func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    public var workerCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A list option given as `a b`, `a,b` or both: the names, in order.
func splitNameList(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
}
