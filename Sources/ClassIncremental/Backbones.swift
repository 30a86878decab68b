import NeuralNet
import TensorCore

/// A feature extractor with a replaceable cosine head `fc` (CosineLinear, then a
/// SplitCosineLinear after each class increment): what `IncrementalNet` grows.
public protocol CosineBackbone: Module {
    /// The pooled features under the head, [N, D].
    func features(_ x: Tensor) -> Tensor
    var fc: Module { get set }
}

extension CCSINet: CosineBackbone {}

/// The CIFAR-style ResNet-18 (`ResNet18` with stem `cifar`: conv 3x3 stride 1, no max-pool;
/// widths w, 2w, 4w, 8w) under a cosine head on its globally average-pooled 8w features, the
/// CCSI reference's second backbone. Its own linear head and dropout are left out.
/// Keys: conv1, bn1, layer{1..4}.{0,1}.{conv1, bn1, conv2, bn2, shortcut.0, shortcut.1}, fc.*
/// (the block names of the CIFAR ResNet-18 the Echo wSF reference took from RobustBench).
public final class CosineResNet18: Module, CosineBackbone {
    let body: ResNet18
    public var fc: Module

    public init(inChannels: Int, classes: Int, width: Int = 64, norm: NormKind) {
        body = ResNet18(inChannels: inChannels, classes: 1, width: width, stem: .cifar, dropout: 0, norm: norm)
        fc = CosineLinear(8 * width, classes)
    }

    public override func namedChildren() -> [(String, Module)] {
        body.namedChildren().filter { $0.0 != "linear" && $0.0 != "dropout" } + [("fc", fc)]
    }

    public func features(_ x: Tensor) -> Tensor { body.features(x) }

    public override func forward(_ x: Tensor) -> Tensor { fc(features(x)) }
}

/// Which backbone a sequence's methods use (`backbone` in the config).
public enum Backbone: Equatable, Sendable {
    /// The CCSI reference's small residual predictor (`CCSINet`).
    case predictor
    /// The CIFAR-style ResNet-18 of width w (64 in the reference).
    case resnet18(width: Int)

    public static let names = ["predictor", "resnet18"]

    /// A fresh backbone with a `classes`-row cosine head for `imageSize` inputs.
    func make(inChannels: Int, imageSize: Int, classes: Int, norm: NormKind) -> CosineBackbone {
        switch self {
        case .predictor:
            let net = CCSINet(inChannels: inChannels, classes: classes, norm: norm)
            net.fc = CosineLinear(featureSize(imageSize: imageSize), classes)
            return net
        case .resnet18(let width):
            return CosineResNet18(inChannels: inChannels, classes: classes, width: width, norm: norm)
        }
    }

    /// The feature length: the predictor's 64 channels x the pooled side (conv stride 2, then
    /// AvgPool2d(7) with stride 7 on side/2); ResNet-18's 8w after its global pool.
    public func featureSize(imageSize: Int) -> Int {
        switch self {
        case .predictor:
            let pooled = (imageSize / 2 - 7) / 7 + 1
            return 64 * pooled * pooled
        case .resnet18(let width):
            return 8 * width
        }
    }
}
