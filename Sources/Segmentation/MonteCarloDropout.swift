import NeuralNet
import TensorCore

/// Monte Carlo dropout uncertainty (Gal & Ghahramani 2016), as AeiSeg and CoRiSeg use it to
/// find the slices the old model is most certain about (Ozdemir et al. 2018, §2.2).
///
/// For a slice x and a head's class c, T stochastic passes give p_t(c | x, pixel) =
/// softmax_c of the logits with dropout active and BatchNorm in inference mode (its running
/// statistics). The per-slice uncertainty is
///   u(x, c) = (1 / |pixels|) Σ_pixels Var_t[p_t(c)],   Var_t = (1/T) Σ_t (p_t − mean_t p)²
/// (population variance, numpy's default).
public struct MonteCarloDropout: Sendable {
    /// T, the number of stochastic passes (29 in the paper and the reference code).
    public var passes: Int
    /// Whether dropout is active in the passes (off reproduces the deterministic model: every
    /// variance is then exactly zero).
    public var dropoutActive: Bool

    public init(passes: Int = 29, dropoutActive: Bool = true) {
        self.passes = passes
        self.dropoutActive = dropoutActive
    }

    /// u(x, c) for every slice of `images` [N, channels, H, W] and every class c of head
    /// `head`: [N][classes]. Slices go through in batches of `batchSize`, each batch T times,
    /// so memory holds one batch's running statistics. The model is left in the training mode
    /// it had, with MC dropout off.
    public func uncertainties(model: UNet, head: Int, images: Tensor, batchSize: Int = 8) throws -> [[Double]] {
        guard passes >= 1 else { throw SegmentationError.invalid("MC dropout needs at least one pass, not \(passes)") }
        guard images.rank == 4, images.shape[0] > 0, batchSize > 0 else {
            throw SegmentationError.invalid("MC dropout needs images [N, C, H, W] with N > 0 and a positive batch size, not \(images.shape)")
        }
        guard model.heads.indices.contains(head) else {
            throw SegmentationError.invalid("the model has \(model.heads.count) heads; there is no head \(head)")
        }
        let wasTraining = model.training
        let dropouts = model.namedModules().compactMap { $0.1 as? Dropout }
        model.eval()
        for layer in dropouts { layer.monteCarlo = dropoutActive }
        defer {
            for layer in dropouts { layer.monteCarlo = false }
            model.train(wasTraining)
        }
        let n = images.shape[0]
        return stride(from: 0, to: n, by: batchSize).flatMap { start in
            batchUncertainties(model: model, head: head, images: images.slice(axis: 0, start..<min(start + batchSize, n)))
        }
    }

    /// T passes over one batch (dropout already switched as wanted).
    private func batchUncertainties(model: UNet, head: Int, images: Tensor) -> [[Double]] {
        // Welford's running mean and sum of squared deviations per (slice, class, pixel): an
        // exactly repeated value adds exactly zero.
        var mean: [Double] = [], squares: [Double] = []
        var shape: [Int] = []
        for t in 0..<passes {
            let p = Autograd.withNoGrad { model(images, head: head).softmax(axis: 1) }
            let values = p.floats()
            if t == 0 {
                shape = p.shape
                mean = [Double](repeating: 0, count: values.count)
                squares = mean
            }
            let count = Double(t + 1)
            for k in values.indices {
                let x = Double(values[k]), delta = x - mean[k]
                mean[k] += delta / count
                squares[k] += delta * (x - mean[k])
            }
        }
        let (n, classes, pixels) = (shape[0], shape[1], shape[2] * shape[3])
        return (0..<n).map { i in
            (0..<classes).map { c in
                let start = (i * classes + c) * pixels
                return squares[start..<(start + pixels)].reduce(0, +) / Double(passes) / Double(pixels)
            }
        }
    }

    /// S_c: the k slices with the lowest uncertainty among those that contain the class (the
    /// *most certain* ones, opposite to Suggestive Annotation), ties to the lower index;
    /// returned most certain first.
    public static func mostCertain(uncertainty: [Double], contains: [Bool], k: Int) throws -> [Int] {
        guard uncertainty.count == contains.count else {
            throw SegmentationError.invalid("\(uncertainty.count) uncertainties for \(contains.count) slices")
        }
        if let bad = uncertainty.firstIndex(where: { !$0.isFinite }) {
            throw SegmentationError.invalid("slice \(bad) has uncertainty \(uncertainty[bad])")
        }
        let eligible = uncertainty.indices.filter { contains[$0] }
        let ranked = eligible.sorted { (uncertainty[$0], $0) < (uncertainty[$1], $1) }
        return Array(ranked.prefix(max(k, 0)))
    }
}
