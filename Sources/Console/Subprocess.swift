import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and collects its output (stdout and stderr together).
/// Reads with read(2) and retries on EINTR: Foundation's `readDataToEndOfFile` traps when a
/// signal interrupts it.
public enum Subprocess {
    public static func run(_ executable: String, _ arguments: [String], cwd: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let cwd { process.currentDirectoryURL = cwd }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let fd = pipe.fileHandleForReading.fileDescriptor
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 { data.append(contentsOf: buffer[0..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
