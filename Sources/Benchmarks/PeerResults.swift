import Foundation

/// The JSON lines the PyTorch peer (python/peers/train_torch.py) prints, decoded.
enum PeerResults {
    struct NetRow: Decodable {
        var net: String
        var mode: BenchMode
        var images_per_second: Double
        var peak_rss_mb: Double
    }

    struct LayerRow: Decodable {
        var shape: ConvShape
        var forward: Double
        var backward_data: Double
        var backward_weight: Double
    }

    struct Memory: Decodable {
        var net: String
        var import_baseline_mb: Double
        var parameter_bytes: Int
        var gradient_bytes: Int
        var optimizer_bytes: Int
        var batch_bytes: Int
        /// Bytes the autograd graph saves for backward, by grad_fn type (parameters excluded).
        var saved: [String: Int]
        var peak_rss_mb: Double
    }

    /// The last line of a run's output as `T`, or an error that quotes the output's end.
    static func decode<T: Decodable>(_ type: T.Type, from output: String, what: String) throws -> T {
        guard let line = output.split(separator: "\n").last, let value = try? JSONDecoder().decode(T.self, from: Data(line.utf8)) else {
            throw BenchmarkError(message: "\(what): no result line in its output: \(output.suffix(600))")
        }
        return value
    }
}

/// A measurement that could not be taken, with the failing side's output.
public struct BenchmarkError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
