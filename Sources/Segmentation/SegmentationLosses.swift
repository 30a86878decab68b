import TensorCore

/// The losses of LwfSeg / AeiSeg / CoRiSeg (Ozdemir et al. 2018, §2.1 and eq. (1); the
/// reference code's `wrappers/losses.py`) as plain functions for the shared training loop.
public enum SegmentationLosses {
    /// Class weights from pixel counts n_c of the training masks (`get_class_weights`):
    ///   w_c = (max_k n_k) / n_c,   then normalised so that Σ_c w_c = 1.
    /// A class without pixels has no finite weight: that is an error, not a silent zero.
    public static func classWeights(pixelCounts: [Int]) throws -> [Double] {
        guard !pixelCounts.isEmpty else { throw SegmentationError.invalid("class weights need at least one class") }
        if let missing = pixelCounts.firstIndex(where: { $0 <= 0 }) {
            throw SegmentationError.invalid("class \(missing) has no pixels in the training masks, so it has no class weight")
        }
        let top = Double(pixelCounts.max()!)
        let raw = pixelCounts.map { top / Double($0) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// Pixel counts per class 0..<classes of label maps (labels outside the range are an error).
    public static func pixelCounts(masks: [[Int]], classes: Int) throws -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for (m, mask) in masks.enumerated() {
            for label in mask {
                guard label >= 0 && label < classes else {
                    throw SegmentationError.invalid("mask \(m) has label \(label) outside 0..<\(classes)")
                }
                counts[label] += 1
            }
        }
        return counts
    }

    /// L_c, the class-weighted pixel cross-entropy of one head's logits [N, C, H, W] against
    /// labels (N·H·W, C order):
    ///   L_c = (1 / (N H W)) Σ_pixels w_{y} · (−log softmax(z)_{y})
    /// (the mean over pixels of the weighted loss, not torch's Σ w_y l / Σ w_y).
    public static func classification(logits: Tensor, labels: [Int], weights: [Double]) -> Tensor {
        precondition(weights.count == logits.shape[1], "\(weights.count) class weights for \(logits.shape[1]) classes")
        let pixels = logits.count / logits.shape[1]
        return crossEntropy(logits, targets: labels, weights: weights, reduction: .sum) / Double(pixels)
    }

    /// L_d, distillation of one old head: the same weighted cross-entropy against the soft
    /// targets t = softmax of the frozen previous model's head (temperature 1):
    ///   L_d = (1 / (N H W)) Σ_pixels Σ_c w_c t_c · (−log softmax(z)_c).
    public static func distillation(logits: Tensor, softTargets: Tensor, weights: [Double]) -> Tensor {
        precondition(weights.count == logits.shape[1], "\(weights.count) class weights for \(logits.shape[1]) classes")
        return crossEntropy(logits, softTargets: softTargets.detach(), weights: weights, reduction: .mean)
    }

    /// Which data a batch holds (eq. (1)).
    public enum BatchKind: String, Sendable, Codable {
        /// Images of the new increment D_{i+1}, with new-structure labels and soft targets.
        case newData = "new"
        /// Exemplars of earlier increments, with soft targets only.
        case exemplar
    }

    /// One old head's share of L_d: its logits on the batch, the soft targets the frozen
    /// previous model gave, and that head's class weights.
    public struct OldHead {
        public var logits: Tensor
        public var softTargets: Tensor
        public var weights: [Double]

        public init(logits: Tensor, softTargets: Tensor, weights: [Double]) {
            self.logits = logits
            self.softTargets = softTargets
            self.weights = weights
        }
    }

    /// Eq. (1):  L = α L_c + (1 − α) L_d on a new-data batch,  L = L_d on an exemplar batch,
    /// with L_d summed over the old heads (one in the paper). `newHead` (logits of the head
    /// being trained, labels, weights) is required for new-data batches and ignored otherwise.
    /// With no old heads (a first training, or fine-tuning) a new-data batch gives L_c alone.
    public static func total(kind: BatchKind, alpha: Double, newHead: (logits: Tensor, labels: [Int], weights: [Double])?,
                             oldHeads: [OldHead]) throws -> Tensor {
        guard (0...1).contains(alpha) else { throw SegmentationError.invalid("alpha \(alpha) is not in [0, 1]") }
        let distilled = oldHeads.map { distillation(logits: $0.logits, softTargets: $0.softTargets, weights: $0.weights) }
        let ld: Tensor? = distilled.isEmpty ? nil : distilled.dropFirst().reduce(distilled[0], +)
        switch kind {
        case .exemplar:
            guard let ld else { throw SegmentationError.invalid("an exemplar batch needs at least one old head to distil") }
            return ld
        case .newData:
            guard let newHead else { throw SegmentationError.invalid("a new-data batch needs the new head's logits and labels") }
            let lc = classification(logits: newHead.logits, labels: newHead.labels, weights: newHead.weights)
            guard let ld else { return lc }
            return lc * alpha + ld * (1 - alpha)
        }
    }
}
