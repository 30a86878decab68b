/// Learning-rate schedules. Each gives the rate for an epoch (or step) and, through
/// `apply(to:)`, sets it on an optimizer.
public protocol LearningRateSchedule {
    /// The learning rate after `step` calls of `step()`.
    var learningRate: Double { get }
}

/// torch.optim.lr_scheduler.StepLR: base * gamma^floor(epoch / stepSize).
public struct StepSchedule: LearningRateSchedule {
    public let base: Double
    public let stepSize: Int
    public let gamma: Double
    public private(set) var epoch = 0

    public init(base: Double, stepSize: Int, gamma: Double = 0.1) {
        self.base = base; self.stepSize = stepSize; self.gamma = gamma
    }

    public var learningRate: Double { base * Double.pow(gamma, Double(epoch / max(stepSize, 1))) }

    public mutating func step() { epoch += 1 }
}

/// Linear warmup over `warmup` steps, then cosine decay to 0 at `total`:
/// rate(i) = base * (i+1) / warmup for i < warmup, else factor * (1 + cos(pi (i - warmup) /
/// (total - warmup))) * base. factor 0.5 is the usual cosine (DeepInversion); the CCSI
/// reference code uses 0.2.
public struct CosineWarmupSchedule: LearningRateSchedule {
    public let base: Double
    public let warmup: Int
    public let total: Int
    public let factor: Double
    public private(set) var iteration = 0

    public init(base: Double, warmup: Int, total: Int, factor: Double = 0.5) {
        self.base = base; self.warmup = warmup; self.total = total; self.factor = factor
    }

    public var learningRate: Double {
        if iteration < warmup { return base * Double(iteration + 1) / Double(warmup) }
        let progress = Double(iteration - warmup) / Double(max(total - warmup, 1))
        return factor * (1 + Double.cos(Double.pi * min(progress, 1))) * base
    }

    public mutating func step() { iteration += 1 }
}

/// torch.optim.lr_scheduler.ReduceLROnPlateau with relative threshold: multiplies the rate by
/// `factor` after `patience` epochs without improvement of the metric (lower is better in mode
/// `min`, higher in `max`; the CCSI reference passes accuracy but leaves PyTorch's default
/// `min`, so state the mode you mean).
public struct PlateauSchedule: LearningRateSchedule {
    public enum Mode: String, Sendable, Codable { case min, max }

    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let cooldown: Int
    public let minimum: Double
    public private(set) var learningRate: Double
    public private(set) var best: Double?
    public private(set) var badEpochs = 0
    private var cooldownLeft = 0

    public init(base: Double, mode: Mode, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4, cooldown: Int = 0, minimum: Double = 0) {
        self.mode = mode; self.factor = factor; self.patience = patience; self.threshold = threshold
        self.cooldown = cooldown; self.minimum = minimum; learningRate = base
    }

    /// Reports an epoch's metric; returns true when the rate was reduced.
    @discardableResult
    public mutating func step(metric: Double) -> Bool {
        let improved: Bool
        if let best {
            improved = mode == .min ? metric < best * (1 - threshold) : metric > best * (1 + threshold)
        } else {
            improved = true
        }
        if improved { best = metric; badEpochs = 0 } else { badEpochs += 1 }
        if cooldownLeft > 0 { cooldownLeft -= 1; badEpochs = 0 }
        if badEpochs > patience {
            let reduced = max(learningRate * factor, minimum)
            let changed = learningRate - reduced > 1e-12
            learningRate = reduced
            cooldownLeft = cooldown
            badEpochs = 0
            return changed
        }
        return false
    }
}

extension Optimizer {
    /// Sets the schedule's current rate on every group.
    public func apply(_ schedule: LearningRateSchedule) { setLearningRate(schedule.learningRate) }
}
