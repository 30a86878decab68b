import TensorCore

/// conv-norm-ReLU-conv-norm (+ shortcut) -> ReLU at stride 1; a 1x1 conv + norm shortcut when
/// the channel count changes. Keys: conv1, bn1, conv2, bn2, shortcut.0, shortcut.1.
public final class ResidualBlock: Module {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let shortcut: [Module]

    public init(_ inChannels: Int, _ outChannels: Int, norm: NormKind, dtype: DType = .float32) {
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, padding: 1, bias: false, dtype: dtype)
        bn1 = norm.make(outChannels, dtype: dtype)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false, dtype: dtype)
        bn2 = norm.make(outChannels, dtype: dtype)
        shortcut = inChannels != outChannels
            ? [Conv2d(inChannels, outChannels, kernel: 1, bias: false, dtype: dtype), norm.make(outChannels, dtype: dtype)]
            : []
    }

    public override func forward(_ x: Tensor) -> Tensor {
        // Main path first, then the shortcut: PyTorch's call order, which forward hooks see.
        let main = conv2(bn1.normalizedReLU(conv1(x), overwriting: !conv1.hasForwardHooks))
        return bn2.normalizedAddReLU(main, residual: shortcut.reduce(x) { $1($0) }, overwriting: !conv2.hasForwardHooks)
    }
}

/// The small residual net of the CCSI reference (methods.md 2.3): conv 3x3 stride 2 to 16
/// channels, residual blocks of 16, 32 and 64 channels at stride 1, average pool 7 (stride 7),
/// a 256-d feature at 32x32 input, and a cosine classifier (split into old and new classes
/// after a class increment). Keys: conv, bn, layer{1,2,3}.*, fc.*.
public final class CCSINet: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d
    public let layer1: ResidualBlock
    public let layer2: ResidualBlock
    public let layer3: ResidualBlock
    /// CosineLinear, or SplitCosineLinear after an increment.
    public var fc: Module

    public init(inChannels: Int = 3, classes: Int = 2, norm: NormKind = .batch, dtype: DType = .float32) {
        conv = Conv2d(inChannels, 16, kernel: 3, stride: 2, padding: 1, bias: false, dtype: dtype)
        bn = norm.make(16, dtype: dtype)
        layer1 = ResidualBlock(16, 16, norm: norm, dtype: dtype)
        layer2 = ResidualBlock(16, 32, norm: norm, dtype: dtype)
        layer3 = ResidualBlock(32, 64, norm: norm, dtype: dtype)
        fc = CosineLinear(256, classes, dtype: dtype)
    }

    /// The 256-d feature of 32x32 inputs.
    public func features(_ x: Tensor) -> Tensor {
        let h = layer3(layer2(layer1(bn.normalizedReLU(conv(x), overwriting: !conv.hasForwardHooks))))
        return avgPool2d(h, kernel: (7, 7)).flattened(from: 1)
    }

    public override func forward(_ x: Tensor) -> Tensor { fc(features(x)) }
}
