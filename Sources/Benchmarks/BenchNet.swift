import NeuralNet
import TensorCore

/// The nets of `medcil bench train`, defined exactly as the PyTorch peer's
/// (python/peers/torch_models.py through train_torch.py's NETS).
public enum BenchNet: String, CaseIterable, Sendable, Codable {
    case smallCNN64 = "small-cnn-64"
    case smallCNN28 = "small-cnn-28"
    case resNet18 = "resnet18-64"
    case uNet = "unet-128"
    /// The reference work's expert (Bransby et al. 2024): ResNet-18 with the CIFAR stem at
    /// 1x112x112, batch 32.
    case expert = "expert-112"
    /// The same expert in evaluation mode exporting features: logits, pooled features and the
    /// 17 NMD signatures from forward hooks, without gradients. Measured in inference only.
    case expertExport = "expert-112-nmd"

    public var batch: Int {
        switch self {
        case .uNet: return 8
        case .expert, .expertExport: return 32
        default: return 64
        }
    }

    /// One sample's shape [C, H, W].
    public var inputShape: [Int] {
        switch self {
        case .smallCNN64, .resNet18: return [1, 64, 64]
        case .smallCNN28: return [3, 28, 28]
        case .uNet: return [1, 128, 128]
        case .expert, .expertExport: return [1, 112, 112]
        }
    }

    public var classes: Int {
        switch self {
        case .uNet: return 3
        case .expert, .expertExport: return 8
        default: return 10
        }
    }

    /// Whether the net has a training row (expert-112-nmd is an evaluation-mode export only).
    public var trains: Bool { self != .expertExport }

    /// Whether the loss is per pixel (segmentation) rather than per image.
    public var perPixel: Bool { self == .uNet }

    public var summary: String {
        switch self {
        case .smallCNN64: return "small CNN 32-64-128-256, 1x64x64, batch 64"
        case .smallCNN28: return "small CNN 32-64-128-256, 3x28x28, batch 64"
        case .resNet18: return "ResNet-18 ImageNet stem, 1x64x64, batch 64"
        case .uNet: return "U-Net base 32, 1x128x128, batch 8, 3 classes"
        case .expert: return "expert: ResNet-18 CIFAR stem, 1x112x112, batch 32"
        case .expertExport: return "expert feature export + 17 NMD hooks, eval, batch 32"
        }
    }

    public func build() -> Module {
        switch self {
        case .smallCNN64: return SmallCNN(inChannels: 1, classes: 10, inputSize: 64)
        case .smallCNN28: return SmallCNN(inChannels: 3, classes: 10, inputSize: 28)
        case .resNet18: return ResNet18(inChannels: 1, classes: 10, width: 64, stem: .imagenet, dropout: 0)
        case .uNet: return UNet(inChannels: 1, base: 32, heads: [3], dropout: 0.5)
        case .expert, .expertExport: return ResNet18(inChannels: 1, classes: 8, width: 64, stem: .cifar, dropout: 0.1)
        }
    }

    /// The synthetic batch every measurement uses: images N(0, 1) and uniform class targets
    /// (one per pixel for the U-Net), from fixed seeds.
    public func syntheticBatch() -> (images: Tensor, targets: [Int]) {
        let generator = RandomGenerator(seed: 1)
        let images = Tensor.normal([batch] + inputShape, generator: generator)
        let targetsPerSample = perPixel ? inputShape[1] * inputShape[2] : 1
        return (images, (0..<(batch * targetsPerSample)).map { _ in generator.int(below: classes) })
    }
}
