import DataLoading
import NeuralNet
import TensorCore

/// Neural Mean Discrepancy (Dong et al., CVPR 2022; the nmd-wSF of Bransby et al. 2024, docs/methods/weighted-experts.md): an image's
/// activation signature is the spatial mean, per channel, of the outputs of the classifier's
/// main convolutions (the 17 of a ResNet-18: the stem and both convolutions of every block,
/// not the shortcuts; 3904 values at width 64); an expert's Neural Mean Feature (NMF) is the
/// mean signature over its own training set in evaluation mode, and the NMD of an image is
/// signature - NMF.
public enum NeuralMeanDiscrepancy {
    /// The convolutions whose outputs are summarised.
    public static func mainConvolutions(of model: Module) -> [Conv2d] {
        if let net = model as? ResNet18 { return net.mainConvolutions }
        if let net = model as? SmallCNN { return net.blocks.map(\.conv) }
        preconditionFailure("\(type(of: model)) has no main convolutions defined")
    }

    /// Signature length of a model.
    public static func dimension(of model: Module) -> Int {
        mainConvolutions(of: model).reduce(0) { $0 + $1.weight.value.shape[0] }
    }

    /// Runs the model once (evaluation mode, no gradients) and returns its logits, pooled
    /// features and the per-sample signatures [N, F].
    public static func forward(_ model: Module, _ images: Tensor) -> (logits: Tensor, features: Tensor, signatures: Tensor) {
        model.eval()
        let convs = mainConvolutions(of: model)
        // Each hook keeps only its activation's spatial mean [N, C]: keeping the 17 activations
        // until the end held a second copy of most of the forward pass (1.9 GB at batch 32, 112x112).
        var means = [Tensor?](repeating: nil, count: convs.count)
        var hooks: [(Conv2d, Int)] = []
        for (k, conv) in convs.enumerated() {
            hooks.append((conv, conv.addForwardHook { _, _, y in means[k] = y.mean(axes: [2, 3]) }))
        }
        defer { for (conv, id) in hooks { conv.removeForwardHook(id) } }
        return Autograd.withNoGrad {
            let (features, logits) = model.featuresAndLogits(images)
            let signatures = Tensor.concat(means.map { $0! }, axis: 1)
            return (logits, features, signatures)
        }
    }

    /// The mean signature over a source (the expert's training set), in evaluation mode.
    public static func meanFeature(_ model: Module, over source: SampleSource, batchSize: Int = 64) throws -> [Float] {
        var sum: [Double] = []
        var count = 0
        try DataLoader(source: source, batchSize: batchSize, shuffle: false).forEachBatch(epoch: 0) { batch in
            let signatures = forward(model, batch.images).signatures
            let f = signatures.shape[1], values = signatures.floats()
            if sum.isEmpty { sum = [Double](repeating: 0, count: f) }
            for i in 0..<batch.labels.count { for k in 0..<f { sum[k] += Double(values[i * f + k]) } }
            count += batch.labels.count
        }
        return sum.map { Float($0 / Double(max(count, 1))) }
    }
}
