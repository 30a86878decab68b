import NeuralNet
import TensorCore

/// Everything needed to rebuild a classifier: architecture, sizes, and the classes of its
/// outputs (canonical names, in output order). Stored as model.json beside the weights.
public struct ClassifierSpec: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// CIFAR-style ResNet-18 (3x3 stem, no max-pool): the echo expert of Bransby et al. 2024.
        case resnet18
        /// ResNet-18 with the ImageNet stem (7x7 stride 2 and max-pool): 4x fewer FLOPs.
        case resnet18ImageNetStem = "resnet18-imagenet-stem"
        /// conv-BN-ReLU-pool blocks and a linear head.
        case smallCNN = "small-cnn"
    }

    public var architecture: Architecture
    public var width: Int
    public var inChannels: Int
    public var inputSize: Int
    public var dropout: Double
    /// Canonical class names of the outputs, in order (with per-class heads: of the heads).
    public var classes: [String]
    /// nil: one output layer over `classes`. Set: one bias-free head per class of `classes`
    /// (`PerClassHeadClassifier`, the fine-tuning baseline of Bransby et al. 2024), of which
    /// the heads of these classes (trained so far, in the order of `classes`) give the outputs.
    public var trainedHeads: [String]?

    public init(architecture: Architecture = .resnet18, width: Int = 64, inChannels: Int = 1, inputSize: Int = 112,
                dropout: Double = 0.1, classes: [String]) {
        self.architecture = architecture
        self.width = width
        self.inChannels = inChannels
        self.inputSize = inputSize
        self.dropout = dropout
        self.classes = classes
    }

    enum CodingKeys: String, CodingKey {
        case architecture, width, dropout, classes
        case inChannels = "in_channels"
        case inputSize = "input_size"
        case trainedHeads = "trained_heads"
    }

    /// Class names of the outputs of the built model, in order.
    public var outputClasses: [String] {
        guard let trainedHeads else { return classes }
        return classes.filter { trainedHeads.contains($0) }
    }

    /// The same backbone with one bias-free head per class of `classes`, `trained` of them giving the outputs.
    public func withPerClassHeads(_ classes: [String], trained: [String]) -> ClassifierSpec {
        var copy = withClasses(classes)
        copy.trainedHeads = trained
        return copy
    }

    public func build() -> Module {
        if let trainedHeads {
            var single = self
            single.trainedHeads = nil
            let model = PerClassHeadClassifier(backbone: single.withClasses(Array(classes.prefix(1))).build(), classes: classes.count)
            model.active = classes.indices.filter { trainedHeads.contains(classes[$0]) }
            return model
        }
        switch architecture {
        case .resnet18:
            return ResNet18(inChannels: inChannels, classes: classes.count, width: width, stem: .cifar, dropout: dropout)
        case .resnet18ImageNetStem:
            return ResNet18(inChannels: inChannels, classes: classes.count, width: width, stem: .imagenet, dropout: dropout)
        case .smallCNN:
            return SmallCNN(inChannels: inChannels, classes: classes.count, widths: [width, 2 * width, 4 * width, 8 * width], inputSize: inputSize)
        }
    }

    /// The same network with another output layer (an expert for a new site, or a head that
    /// grows with new classes).
    public func withClasses(_ classes: [String]) -> ClassifierSpec {
        var copy = self
        copy.classes = classes
        return copy
    }
}

extension Module {
    /// The classifier's pooled penultimate features [N, D] and its logits, for ResNets and the
    /// small CNN alike.
    public func featuresAndLogits(_ x: Tensor) -> (features: Tensor, logits: Tensor) {
        if let net = self as? ResNet18 {
            let h = net.features(x)
            return (h, net.linear(net.dropout(h)))
        }
        if let net = self as? SmallCNN {
            var h = x
            for block in net.blocks { h = maxPool2d(block(h), kernel: (2, 2)) }
            let flat = h.flattened(from: 1)
            return (flat, net.head(flat))
        }
        preconditionFailure("\(type(of: self)) is not a classifier of the model zoo")
    }
}
