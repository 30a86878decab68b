import NeuralNet
import TensorCore

/// What a trained network says about slices: per head, the argmax label of every pixel
/// (each head its own background/foreground softmax, so structures never exclude each other),
/// or the softmax probabilities, in evaluation mode (dropout off, BatchNorm running statistics).
public enum HeadPrediction {
    /// Softmax of head `head` [N, classes, H, W] for `images` [N, 1, H, W], in batches.
    public static func probabilities(model: UNet, head: Int, images: Tensor, batchSize: Int = 16) throws -> Tensor {
        try SoftTargets.compute(model: model, head: head, images: images, batchSize: batchSize)
    }

    /// Argmax labels of head `head`, one [H·W] array per slice.
    public static func labels(model: UNet, head: Int, images: Tensor, batchSize: Int = 16) throws -> [[Int]] {
        let p = try probabilities(model: model, head: head, images: images, batchSize: batchSize)
        let (n, classes, pixels) = (p.shape[0], p.shape[1], p.shape[2] * p.shape[3])
        let values = p.floats()
        return (0..<n).map { i in
            (0..<pixels).map { k in
                var best = 0
                for c in 1..<classes where values[(i * classes + c) * pixels + k] > values[(i * classes + best) * pixels + k] { best = c }
                return best
            }
        }
    }

    /// Dice of the foreground labels pooled over all slices (2 |P ∩ R| / (|P| + |R|), 1 when
    /// both are empty): the validation score of a training run, the reference code's
    /// foreground Dice made hard.
    public static func pooledDice(predicted: [[Int]], reference: [[Int]]) -> Double {
        var both = 0, p = 0, r = 0
        for (a, b) in zip(predicted, reference) {
            for (x, y) in zip(a, b) {
                let px = x > 0, ry = y > 0
                if px { p += 1 }
                if ry { r += 1 }
                if px && ry && x == y { both += 1 }
            }
        }
        return p + r == 0 ? 1 : 2 * Double(both) / Double(p + r)
    }
}
