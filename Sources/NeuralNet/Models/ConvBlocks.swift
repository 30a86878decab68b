import TensorCore

/// conv (no bias) -> BatchNorm -> ReLU. Keys: conv.weight, bn.*
public final class ConvBNReLU: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1, dtype: DType = .float32) {
        conv = Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, bias: false, dtype: dtype)
        bn = BatchNorm2d(outChannels, dtype: dtype)
    }

    public override func forward(_ x: Tensor) -> Tensor { bn.normalizedReLU(conv(x), overwriting: !conv.hasForwardHooks) }
}

/// The same normalisation choice across a model: BatchNorm, or Continual Normalization.
public enum NormKind: String, Sendable, Codable, CaseIterable {
    case batch
    case continual

    func make(_ channels: Int, dtype: DType) -> BatchNorm2d {
        switch self {
        case .batch: return BatchNorm2d(channels, dtype: dtype)
        case .continual: return ContinualNorm(channels, groups: 4, dtype: dtype)
        }
    }
}
