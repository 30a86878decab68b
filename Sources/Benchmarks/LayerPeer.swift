import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The PyTorch peer kept running for the per-layer table (`train_torch.py --layers -`): one shape
/// per line in, one timing per line out. Each shape is then timed on both sides back to back, so
/// that the load of a shared machine, which changes over minutes, weighs on both alike.
final class LayerPeer {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending = Data()

    init(python: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    /// Sends one shape and waits for its timing.
    func time(_ shape: ConvShape) throws -> PeerResults.LayerRow {
        input.fileHandleForWriting.write(try JSONEncoder().encode(shape) + Data("\n".utf8))
        let line = try readLine()
        guard let row = try? JSONDecoder().decode(PeerResults.LayerRow.self, from: line) else {
            throw BenchmarkError(message: "the PyTorch peer answered \(shape) with: \(String(decoding: line, as: UTF8.self).prefix(400))")
        }
        return row
    }

    /// Closes the peer's input (it exits) and waits for it.
    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// The next line of output, read with read(2) (retrying on EINTR, as `Subprocess` does).
    private func readLine() throws -> Data {
        let fd = output.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[pending.index(after: newline)...])
                return Data(line)
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 { pending.append(contentsOf: buffer[0..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            throw BenchmarkError(message: "the PyTorch peer stopped before answering (its errors are above)")
        }
    }
}
