import NeuralNet
import TensorCore

/// Soft targets for distillation: t = softmax of the frozen previous model's head, computed
/// once with dropout off and BatchNorm in inference mode (Ozdemir et al.'s "surrogate
/// targets"), on the new increment's images and on the exemplars.
public enum SoftTargets {
    /// softmax(model(images, head)) [N, classes, H, W], in batches; the model's training mode
    /// is restored and no gradient is recorded.
    public static func compute(model: UNet, head: Int, images: Tensor, batchSize: Int = 8) throws -> Tensor {
        guard images.rank == 4, images.shape[0] > 0, batchSize > 0 else {
            throw SegmentationError.invalid("soft targets need images [N, C, H, W] with N > 0 and a positive batch size, not \(images.shape)")
        }
        guard model.heads.indices.contains(head) else {
            throw SegmentationError.invalid("the model has \(model.heads.count) heads; there is no head \(head)")
        }
        let wasTraining = model.training
        let dropouts = model.namedModules().compactMap { $0.1 as? Dropout }
        let monteCarlo = dropouts.map(\.monteCarlo)
        model.eval()
        for layer in dropouts { layer.monteCarlo = false }
        defer {
            for (layer, on) in zip(dropouts, monteCarlo) { layer.monteCarlo = on }
            model.train(wasTraining)
        }
        let n = images.shape[0]
        let parts = stride(from: 0, to: n, by: batchSize).map { start in
            Autograd.withNoGrad { model(images.slice(axis: 0, start..<min(start + batchSize, n)), head: head).softmax(axis: 1) }
        }
        return Tensor.concat(parts, axis: 0)
    }
}
