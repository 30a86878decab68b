/// Loss functions as plain functions of tensors, with PyTorch's definitions and reductions.
public enum Reduction: String, Sendable { case mean, sum, none }

/// Cross-entropy from logits [N, C] (or [N, C, H, W] per pixel) and class indices per
/// sample (or per pixel, N*H*W in C order). With class `weights` the mean is the weighted
/// mean, sum(w_y * l) / sum(w_y), as torch.nn.functional.cross_entropy.
public func crossEntropy(_ logits: Tensor, targets: [Int], weights: [Double]? = nil, reduction: Reduction = .mean) -> Tensor {
    precondition(logits.rank == 2 || logits.rank == 4, "crossEntropy logits must be [N, C] or [N, C, H, W]")
    let c = logits.shape[1], inner = logits.shape[2...].reduce(1, *), n = logits.shape[0]
    precondition(targets.count == n * inner, "\(targets.count) targets for logits \(logits.shape)")
    precondition(targets.allSatisfy { $0 >= 0 && $0 < c }, "targets must be in 0..<\(c)")
    let logProbabilities = logits.logSoftmax(axis: 1)
    // Gather -w_y * log p_y through a one-hot weight tensor (differentiable in the logits).
    let pick = Tensor(shape: logits.shape, dtype: logits.dtype)
    let perSample = Tensor(shape: [n * inner], dtype: logits.dtype, zeroed: false)
    var weightSum = 0.0
    func fill<T: TensorScalar>(_: T.Type) {
        let p = pick.pointer(T.self), s = perSample.pointer(T.self)
        for i in 0..<n {
            for k in 0..<inner {
                let y = targets[i * inner + k]
                let w = weights?[y] ?? 1
                p[(i * c + y) * inner + k] = T(-w)
                s[i * inner + k] = T(w)
                weightSum += w
            }
        }
    }
    logits.dtype == .float32 ? fill(Float.self) : fill(Double.self)
    let losses = (logProbabilities * pick).sum(axes: [1])  // [N] or [N, H, W]
    switch reduction {
    case .none: return losses
    case .sum: return losses.sum()
    case .mean: return losses.sum() / Swift.max(weightSum, 1e-12)
    }
}

/// Cross-entropy against soft targets (probabilities, same shape as the logits):
/// -sum_c w_c t_c log p_c per sample (per pixel), averaged over samples (and pixels).
public func crossEntropy(_ logits: Tensor, softTargets: Tensor, weights: [Double]? = nil, reduction: Reduction = .mean) -> Tensor {
    precondition(softTargets.shape == logits.shape, "soft targets \(softTargets.shape) for logits \(logits.shape)")
    var weighted = softTargets
    if let weights {
        var shape = [Int](repeating: 1, count: logits.rank)
        shape[1] = weights.count
        let w = logits.dtype == .float32 ? Tensor(weights.map { Float($0) }, shape: shape) : Tensor(weights, shape: shape)
        weighted = softTargets * w
    }
    let losses = -(logits.logSoftmax(axis: 1) * weighted).sum(axes: [1])
    switch reduction {
    case .none: return losses
    case .sum: return losses.sum()
    case .mean: return losses.mean()
    }
}

/// Knowledge distillation with temperature T: KL(softmax(teacher/T) || softmax(student/T)) * T^2,
/// summed over classes and averaged over the batch (torch's kl_div with reduction "batchmean").
public func distillationLoss(student: Tensor, teacher: Tensor, temperature: Double) -> Tensor {
    let target = (teacher.detach() / temperature).softmax(axis: 1)
    let logTarget = (teacher.detach() / temperature).logSoftmax(axis: 1)
    let logStudent = (student / temperature).logSoftmax(axis: 1)
    let kl = (target * (logTarget - logStudent)).sum()
    return kl / Double(student.shape[0]) * (temperature * temperature)
}

/// Cosine similarity of rows of a and b [N, D], as torch.nn.functional.cosine_similarity:
/// a·b / (max(‖a‖, ε) · max(‖b‖, ε)). Each clamp is applied before the square root
/// (sqrt(max(‖a‖², ε²)), the same value) so that a zero row gives a finite gradient rather
/// than sqrt's infinite slope at 0 times 0 (NaN).
public func cosineSimilarity(_ a: Tensor, _ b: Tensor, epsilon: Double = 1e-8) -> Tensor {
    let dot = (a * b).sum(axes: [1])
    let floor = Tensor.full(dot.shape, value: epsilon * epsilon, dtype: a.dtype)
    let na = maximum((a * a).sum(axes: [1]), floor).sqrt(), nb = maximum((b * b).sum(axes: [1]), floor).sqrt()
    return dot / (na * nb)
}

/// torch's CosineEmbeddingLoss: 1 - cos(a, b) where the target is +1, max(0, cos - margin)
/// where it is -1; mean over rows.
public func cosineEmbeddingLoss(_ a: Tensor, _ b: Tensor, targets: [Int], margin: Double = 0) -> Tensor {
    precondition(targets.count == a.shape[0], "one target per row")
    let cosine = cosineSimilarity(a, b)
    let positive = Tensor(targets.map { $0 > 0 ? 1.0 : 0.0 }, shape: [targets.count]).to(a.dtype)
    let negative = 1 - positive
    let hinge = (cosine - margin).relu()
    return ((1 - cosine) * positive + hinge * negative).mean()
}

/// torch's MarginRankingLoss: mean(max(0, -y * (x1 - x2) + margin)).
public func marginRankingLoss(_ x1: Tensor, _ x2: Tensor, targets: [Int], margin: Double) -> Tensor {
    precondition(targets.count == x1.count && x1.shape == x2.shape, "one target per element")
    let y = Tensor(targets.map { Double($0) }, shape: x1.shape).to(x1.dtype)
    return (-(y * (x1 - x2)) + margin).relu().mean()
}

/// Total variation of images [N, C, H, W] as DeepInversion and CCSI regularise synthesis:
/// `l2` = the sum of the Frobenius norms (not squared) of the horizontal, vertical and two
/// diagonal neighbour differences; `l1` = the sum of their mean absolute values.
public func totalVariation(_ x: Tensor) -> (l2: Tensor, l1: Tensor) {
    let h = x.size(2), w = x.size(3)
    let d1 = x.slice(axis: 3, 0..<(w - 1)) - x.slice(axis: 3, 1..<w)
    let d2 = x.slice(axis: 2, 0..<(h - 1)) - x.slice(axis: 2, 1..<h)
    let inner = x.slice(axis: 2, 0..<(h - 1))
    let lower = x.slice(axis: 2, 1..<h)
    let d3 = inner.slice(axis: 3, 0..<(w - 1)) - lower.slice(axis: 3, 1..<w)
    let d4 = lower.slice(axis: 3, 0..<(w - 1)) - inner.slice(axis: 3, 1..<w)
    let diffs = [d1, d2, d3, d4]
    let l2 = diffs.map { ($0 * $0).sum().sqrt() }.reduce(Tensor.scalar(0, dtype: x.dtype), +)
    let l1 = diffs.map { $0.abs().mean() }.reduce(Tensor.scalar(0, dtype: x.dtype), +)
    return (l2, l1)
}

/// Mean squared error.
public func meanSquaredError(_ a: Tensor, _ b: Tensor) -> Tensor {
    let d = a - b
    return (d * d).mean()
}

/// Mean over the batch of each sample's L2 norm (the CCSI synthesis image prior).
public func meanL2Norm(_ x: Tensor) -> Tensor {
    (x.flattened(from: 1) * x.flattened(from: 1)).sum(axes: [1]).sqrt().mean()
}

/// Soft Dice loss: 1 - mean over classes of (2 sum(p t) + eps) / (sum p + sum t + eps), for
/// probabilities p and one-hot targets t of shape [N, C, H, W] (sums over N, H, W).
public func softDiceLoss(probabilities p: Tensor, targets t: Tensor, epsilon: Double = 1e-6, classes: [Int]? = nil) -> Tensor {
    precondition(p.shape == t.shape && p.rank == 4, "soft Dice needs [N, C, H, W] probabilities and targets")
    let intersection = (p * t).sum(axes: [0, 2, 3])
    let total = p.sum(axes: [0, 2, 3]) + t.sum(axes: [0, 2, 3])
    var dice = (2 * intersection + epsilon) / (total + epsilon)
    if let classes {
        dice = Tensor.concat(classes.map { dice.slice(axis: 0, $0..<($0 + 1)) }, axis: 0)
    }
    return 1 - dice.mean()
}
