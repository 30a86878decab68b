import TensorCore

/// ResNet basic block: conv-BN-ReLU-conv-BN plus the shortcut (identity, or 1x1 conv + BN when
/// the shape changes), then ReLU. `norm` picks every normalisation layer (BatchNorm by default).
/// Keys: conv1, bn1, conv2, bn2, shortcut.0, shortcut.1.
public final class BasicBlock: Module {
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let conv2: Conv2d
    public let bn2: BatchNorm2d
    public let shortcut: [Module]

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, norm: NormKind = .batch, dtype: DType = .float32) {
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false, dtype: dtype)
        bn1 = norm.make(outChannels, dtype: dtype)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false, dtype: dtype)
        bn2 = norm.make(outChannels, dtype: dtype)
        shortcut = stride != 1 || inChannels != outChannels
            ? [Conv2d(inChannels, outChannels, kernel: 1, stride: stride, bias: false, dtype: dtype), norm.make(outChannels, dtype: dtype)]
            : []
    }

    public override func forward(_ x: Tensor) -> Tensor {
        // Main path first, then the shortcut: PyTorch's call order, which forward hooks see.
        let main = conv2(bn1.normalizedReLU(conv1(x), overwriting: !conv1.hasForwardHooks))
        return bn2.normalizedAddReLU(main, residual: shortcut.reduce(x) { $1($0) }, overwriting: !conv2.hasForwardHooks)
    }
}

/// ResNet-18. Stem `cifar`: conv 3x3 stride 1 and no max-pool (the seed's echo expert, after
/// RobustBench); stem `imagenet`: conv 7x7 stride 2 and max-pool 3x3 stride 2. Widths w, 2w,
/// 4w, 8w; head: global average pool -> dropout -> linear. `norm`: BatchNorm (the default) or
/// Continual Normalization in every normalisation layer, shortcuts included.
/// Keys: conv1, bn1, layer{1..4}.{0,1}.*, linear.
public final class ResNet18: Module {
    public enum Stem: String, Sendable, Codable, CaseIterable { case cifar, imagenet }

    public let stem: Stem
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    public let layer1: [BasicBlock]
    public let layer2: [BasicBlock]
    public let layer3: [BasicBlock]
    public let layer4: [BasicBlock]
    public let dropout: Dropout
    public var linear: Linear

    /// The 17 main convolutions (stem and both convs of every block, no shortcuts), in order:
    /// their outputs are the activations Neural Mean Discrepancy summarises.
    public var mainConvolutions: [Conv2d] {
        [conv1] + [layer1, layer2, layer3, layer4].flatMap { $0.flatMap { [$0.conv1, $0.conv2] } }
    }

    public var featureDimension: Int { layer4[1].conv2.weight.value.shape[0] }

    public init(inChannels: Int = 1, classes: Int = 8, width: Int = 64, stem: Stem = .cifar, dropout: Double = 0.1, norm: NormKind = .batch,
                dtype: DType = .float32) {
        self.stem = stem
        conv1 = stem == .cifar
            ? Conv2d(inChannels, width, kernel: 3, stride: 1, padding: 1, bias: false, dtype: dtype)
            : Conv2d(inChannels, width, kernel: 7, stride: 2, padding: 3, bias: false, dtype: dtype)
        bn1 = norm.make(width, dtype: dtype)
        let widths = [width, 2 * width, 4 * width, 8 * width]
        func layer(_ index: Int, from channels: Int, stride: Int) -> [BasicBlock] {
            [BasicBlock(channels, widths[index], stride: stride, norm: norm, dtype: dtype),
             BasicBlock(widths[index], widths[index], stride: 1, norm: norm, dtype: dtype)]
        }
        layer1 = layer(0, from: width, stride: 1)
        layer2 = layer(1, from: widths[0], stride: 2)
        layer3 = layer(2, from: widths[1], stride: 2)
        layer4 = layer(3, from: widths[2], stride: 2)
        self.dropout = Dropout(dropout)
        linear = Linear(widths[3], classes, dtype: dtype)
    }

    /// The pooled penultimate features [N, 8w].
    public func features(_ x: Tensor) -> Tensor {
        var h = bn1.normalizedReLU(conv1(x), overwriting: !conv1.hasForwardHooks)
        if stem == .imagenet { h = maxPool2d(h, kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        for block in layer1 + layer2 + layer3 + layer4 { h = block(h) }
        return adaptiveAvgPool2d(h, output: (1, 1)).flattened(from: 1)
    }

    public override func forward(_ x: Tensor) -> Tensor { linear(dropout(features(x))) }
}
