import ArrayFiles
import TensorCore

/// The golden tolerance of the PyTorch parity tests: max|swift − torch| <= 1e-4 · max|torch|.
func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
    let scale = max(expected.map(abs).max() ?? 0, 1e-6)
    return zip(actual, expected).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

extension Tensor {
    /// A float32 tensor from an .npy array.
    convenience init(_ array: NpyArray) { self.init(array.floatValues(), shape: array.shape) }
}
