import Foundation
import NeuralNet
import TensorCore

/// A backbone (the CCSI reference's small residual net, `CCSINet`, or its CIFAR-style
/// ResNet-18, see `Backbone`) with a cosine head that grows by a `SplitCosineLinear` at every
/// task: fc1 holds every old class's row, fc2 the new classes, one shared sigma. The head's
/// shape follows from the task sizes alone, so a checkpoint of task t loads into
/// `IncrementalNet(..., taskSizes: sizes[0...t])`.
public final class IncrementalNet {
    public let net: CosineBackbone
    public let norm: NormKind
    public let backbone: Backbone
    public private(set) var classes: Int
    /// Classes of the newest task (fc2's rows; all classes before the first increment).
    public private(set) var newClasses: Int
    /// CCSI's per-sample group statistics of the last training batch (Continual Normalization
    /// only; nil until the net has trained), used by synthesis and saved with the checkpoint.
    public var groupStatistics: GroupStatistics?

    /// A fresh net for the first task. Continual Normalization uses momentum 1, as the CCSI
    /// code's `_CN` default (methods.md 2.3): running statistics are the last training batch's.
    public init(inChannels: Int, imageSize: Int, classes: Int, norm: NormKind, backbone: Backbone = .predictor) {
        net = backbone.make(inChannels: inChannels, imageSize: imageSize, classes: classes, norm: norm)
        self.norm = norm
        self.backbone = backbone
        self.classes = classes
        newClasses = classes
        if norm == .continual {
            for case let layer as ContinualNorm in net.namedModules().map(\.1) { layer.momentum = 1 }
        }
    }

    /// The same structure as after the tasks of `taskSizes` (weights fresh, to load into).
    public convenience init(inChannels: Int, imageSize: Int, taskSizes: [Int], norm: NormKind, backbone: Backbone = .predictor) {
        self.init(inChannels: inChannels, imageSize: imageSize, classes: taskSizes[0], norm: norm, backbone: backbone)
        for size in taskSizes.dropFirst() { expand(newClasses: size) }
    }

    public var featureSize: Int { cosineWeights.shape[1] }

    public func features(_ x: Tensor) -> Tensor { net.features(x) }

    /// Pre-sigma cosine scores [N, classes]: <f/|f|, w_c/|w_c|> (the head's own computation,
    /// with norms that stay finite in the backward pass of an all-zero row, see `normalizedRows`).
    public func scores(features f: Tensor) -> Tensor {
        linear(Self.normalizedRows(f), weight: Self.normalizedRows(cosineWeights), bias: nil)
    }

    /// x / max(|x|, 1e-12) per row, as torch's F.normalize. The norm is sqrt(sum x^2 + 1e-30):
    /// the same value in float32, but its derivative stays finite where a row is all zero
    /// (ReLU features can be), where sqrt's would be infinite and turn the gradient into NaN.
    public static func normalizedRows(_ x: Tensor) -> Tensor {
        let norm = ((x * x).sum(axes: [1], keepDims: true) + 1e-30).sqrt()
        return x / maximum(norm, Tensor.full(norm.shape, value: 1e-12, dtype: x.dtype))
    }

    public var sigma: Parameter {
        if let split = net.fc as? SplitCosineLinear { return split.sigma }
        return (net.fc as! CosineLinear).sigma!
    }

    /// sigma * scores.
    public func logits(features f: Tensor) -> Tensor { scores(features: f) * sigma.value }

    public func logits(_ x: Tensor) -> Tensor { logits(features: features(x)) }

    /// Every class's weight row [classes, features] (old rows first).
    public var cosineWeights: Tensor {
        if let split = net.fc as? SplitCosineLinear { return Tensor.concat([split.fc1.weight.value, split.fc2.weight.value], axis: 0) }
        return (net.fc as! CosineLinear).weight.value
    }

    /// Grows the head by `newClasses` rows: fc1 = every current row, fc2 fresh, sigma copied
    /// (the reference's SplitCosineLinear at each task).
    public func expand(newClasses: Int) {
        let old = Autograd.withNoGrad { cosineWeights.clone() }
        let sigmaValue = Autograd.withNoGrad { sigma.value.clone() }
        let split = SplitCosineLinear(old.shape[1], oldClasses: old.shape[0], newClasses: newClasses)
        split.fc1.weight.value = old
        split.sigma.value = sigmaValue
        net.fc = split
        classes += newClasses
        self.newClasses = newClasses
    }

    /// Freezes the old rows (the reference's lr-0 `less_forget` group): they stay bit-identical.
    public func freezeOldRows(_ frozen: Bool = true) {
        (net.fc as? SplitCosineLinear)?.fc1.weight.frozen = frozen
    }

    /// Weight imprinting of the new rows (methods.md 2.5): for each new class c,
    /// w_c = normalize(mean_i normalize(f(x_i))) * mean_k |w_old_k|, features of the class's
    /// training images from the current backbone in evaluation mode.
    public func imprint(images: ImageSet, batchSize: Int = 100) {
        guard let split = net.fc as? SplitCosineLinear else { return }
        net.eval()
        let oldNorm = Autograd.withNoGrad { split.fc1.weight.value.squared().sum(axes: [1]).sqrt().mean().item() }
        let firstNew = classes - newClasses
        let d = featureSize
        var rows = split.fc2.weight.value.floats()
        for c in 0..<newClasses {
            let members = images.labels.indices.filter { images.labels[$0] == firstNew + c }
            guard !members.isEmpty else { continue }
            var sum = [Double](repeating: 0, count: d)
            for start in stride(from: 0, to: members.count, by: batchSize) {
                let batch = Array(members[start..<min(start + batchSize, members.count)])
                let f = Autograd.withNoGrad { features(images.batch(batch)).l2Normalized(axis: 1).floats() }
                for (k, v) in f.enumerated() { sum[k % d] += Double(v) }
            }
            let mean = sum.map { $0 / Double(members.count) }
            let length = max(mean.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
            for k in 0..<d { rows[c * d + k] = Float(mean[k] / length * oldNorm) }
        }
        split.fc2.weight.value = Tensor(rows, shape: [newClasses, d])
    }

    /// Predicted classes (argmax of the logits), in evaluation mode.
    public func predict(_ set: ImageSet, batchSize: Int = 200) -> [Int] {
        net.eval()
        var out: [Int] = []
        for start in stride(from: 0, to: set.count, by: batchSize) {
            let batch = Array(start..<min(start + batchSize, set.count))
            out += Autograd.withNoGrad { logits(set.batch(batch)).argmax(axis: 1) }
        }
        return out
    }

    /// Features of a whole set in evaluation mode, [N * featureSize] row-major.
    public func featureRows(_ set: ImageSet, batchSize: Int = 200) -> [Float] {
        net.eval()
        var out: [Float] = []
        for start in stride(from: 0, to: set.count, by: batchSize) {
            let batch = Array(start..<min(start + batchSize, set.count))
            out += Autograd.withNoGrad { features(set.batch(batch)).floats() }
        }
        return out
    }

    /// A frozen copy (the reference model of distillation), through the state dict.
    public func copy(inChannels: Int, imageSize: Int, taskSizes: [Int]) throws -> IncrementalNet {
        let other = IncrementalNet(inChannels: inChannels, imageSize: imageSize, taskSizes: taskSizes, norm: norm, backbone: backbone)
        try Checkpoint.load(other.net, state: Checkpoint.stateDict(net))
        other.groupStatistics = groupStatistics
        other.net.eval()
        for p in other.net.parameters() { p.frozen = true }
        return other
    }
}
