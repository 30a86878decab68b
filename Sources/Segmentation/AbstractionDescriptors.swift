import NeuralNet
import TensorCore

/// AeiSeg's slice descriptor (Ozdemir et al. 2018, §2.2, after Yang et al. 2017): the spatial
/// mean of the abstraction layer's activations (the U-Net bottleneck's second conv block,
/// `bottleneck.1`, after its BN and ReLU), one value per channel (16·base), computed with the
/// model in evaluation mode (dropout off, BatchNorm running statistics).
public enum AbstractionDescriptors {
    /// Descriptors [N * 16·base] (row-major, one row per slice) of `images` [N, C, H, W],
    /// computed in batches of `batchSize` slices. The model's training mode is restored.
    public static func compute(model: UNet, images: Tensor, batchSize: Int = 8) throws -> (values: [Float], dims: Int) {
        guard images.rank == 4, images.shape[0] > 0 else {
            throw SegmentationError.invalid("descriptors need images [N, C, H, W] with N > 0, not \(images.shape)")
        }
        guard batchSize > 0 else { throw SegmentationError.invalid("batch size \(batchSize)") }
        let wasTraining = model.training
        model.eval()
        defer { model.train(wasTraining) }
        let n = images.shape[0]
        var values: [Float] = []
        var dims = 0
        for start in stride(from: 0, to: n, by: batchSize) {
            let batch = images.slice(axis: 0, start..<min(start + batchSize, n))
            let pooled = Autograd.withNoGrad { model.encode(batch).bottleneck.mean(axes: [2, 3]) }
            dims = pooled.shape[1]
            values += pooled.floats()
        }
        return (values, dims)
    }
}
