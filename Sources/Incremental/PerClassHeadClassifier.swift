import NeuralNet
import TensorCore

/// A classifier with one bias-free `Linear(D, 1)` head per canonical class over a shared
/// backbone (D: the backbone's feature width, 512 for ResNet-18 at width 64): the model of the
/// fine-tuning baseline of Bransby et al. 2024 ("ft_expand"; docs/methods/weighted-experts.md).
///
/// The logit of class k is s_k = w_k · f(x), f the backbone's pooled features (after its
/// dropout). `forward` returns the logits of the `active` heads only, in that order, so a
/// cross-entropy on them is the reference's cross-entropy over the current site's classes:
/// the other classes' logits never enter the softmax.
///
/// Keys are PyTorch's for the same module: the backbone's own (`conv1.weight`,
/// `layer1.0.bn1.running_mean`, ...; the backbone's single output layer is not part of this
/// model) and `<head>.<k>.weight` of shape [1, D] for the k-th class, `<head>` being the
/// backbone's output layer name (`linear` for ResNet-18, `head` for the small CNN), as an
/// `nn.ModuleList` of `nn.Linear(D, 1, bias=False)` would name them.
public final class PerClassHeadClassifier: Module {
    let backbone: Module
    let heads: [Linear]
    /// The backbone's name for its output layer, which the heads take over.
    let headKey: String
    /// Heads whose logits `forward` returns, in this order.
    public var active: [Int]

    /// `backbone` is a classifier of the model zoo (ResNet-18 or the small CNN); its own
    /// output layer is left out. All heads are active.
    public init(backbone: Module, classes: Int) {
        let width: Int
        if let net = backbone as? ResNet18 {
            width = net.featureDimension
            headKey = "linear"
        } else if let net = backbone as? SmallCNN {
            width = net.head.weight.value.shape[1]
            headKey = "head"
        } else {
            preconditionFailure("\(type(of: backbone)) is not a classifier of the model zoo")
        }
        self.backbone = backbone
        heads = (0..<classes).map { _ in Linear(width, 1, bias: false) }
        active = Array(0..<classes)
    }

    /// The backbone's children without its output layer, then the heads.
    public override func namedChildren() -> [(String, Module)] {
        backbone.namedChildren().filter { $0.0 != headKey } + heads.enumerated().map { ("\(headKey).\($0.offset)", $0.element) }
    }

    /// Pooled features [N, D] as the backbone's output layer would see them (ResNet-18: after its dropout).
    func features(_ x: Tensor) -> Tensor {
        if let net = backbone as? ResNet18 { return net.dropout(net.features(x)) }
        return backbone.featuresAndLogits(x).features
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let weight = Tensor.concat(active.map { heads[$0].weight.value }, axis: 0)
        return linear(features(x), weight: weight, bias: nil)
    }

    /// Makes `heads` the active ones, in that order, and freezes every other head (the
    /// optimizer skips frozen parameters, so their weights stay bit-identical); the backbone
    /// stays trainable.
    public func focus(on heads: [Int]) {
        active = heads
        let kept = Set(heads)
        for (k, head) in self.heads.enumerated() { head.freeze(!kept.contains(k)) }
    }

    /// The weight of head `k`, [1, D].
    public func headWeight(_ k: Int) -> [Float] { heads[k].weight.value.floats() }
}
