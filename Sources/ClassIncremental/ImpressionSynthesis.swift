import Foundation
import NeuralNet
import Support
import TensorCore

/// Class impressions (methods.md 2.4): images optimised so that the frozen previous model
/// calls them class y and its normalisation layers see the statistics they stored.
///
/// Per iteration, with x_j = x rolled by (d1, d2) ~ U{-jitter..jitter} and flipped in W with
/// probability 1/2:
///
///     L = a_main CE(f(x_j), y) + a_tv TV2(x_j) + a_r sum_l s_l R_l(x_j) + a_l2 mean_b |x_j[b]|_2
///
/// s_1 = `first_layer_multiplier` for the stem's normalisation, 1 for the others, and
/// - BatchNorm (CI): R_l = |var_run - var_batch(in_l)|_2 + |mean_run - mean_batch(in_l)|_2,
///   batch statistics over (N, H, W), biased, of the layer's input;
/// - Continual Normalization (CCSI): the same on GN(in_l), the group-normalised input that
///   the BatchNorm inside CN sees, plus, when the model stored them (`GroupStatistics`), the
///   distance of the per-sample group statistics of in_l to the last training batch's,
///   |G_var_stored - G_var(in_l)|_F + |G_mean_stored - G_mean(in_l)|_F. As in the reference
///   these are computed on a detached input: they carry **no gradient** and only shift the
///   loss value, and with it which iterate is kept as the best batch.
///
/// Adam (lr, betas (0.5, 0.9)) on the pixels with linear warm-up then `cosine_factor` *
/// (1 + cos) decay; after each step channel 0 is clamped to [-2.118, 2.249] (the reference's
/// quirk); the returned batch is the post-step image of the iteration with the lowest loss.
public struct ImpressionSynthesis {
    public var settings: SequenceConfig.Synthesis
    public var tvL2: Double

    public init(settings: SequenceConfig.Synthesis, tvL2: Double) {
        self.settings = settings
        self.tvL2 = tvL2
    }

    /// What one batch's synthesis did.
    public struct Trace: Sendable {
        public var firstLoss: Double
        public var bestLoss: Double
        /// Statistics term and target-class cross-entropy of the starting and of the final batch.
        public var statisticsBefore: Double
        public var statisticsAfter: Double
        public var crossEntropyBefore: Double
        public var crossEntropyAfter: Double
    }

    /// The statistics regulariser sum_l s_l R_l of the net's normalisation layers on input x,
    /// and the logits, from one forward pass with hooks. The group-statistics part of R_l (CN
    /// with stored `GroupStatistics`) enters as a constant: `Tensor + Double` adds no gradient.
    public static func statisticsAndLogits(_ model: IncrementalNet, _ x: Tensor, firstLayerMultiplier: Double) -> (Tensor, Tensor) {
        let named = model.net.namedModules().compactMap { name, module in (module as? BatchNorm2d).map { (name, $0) } }
        let layers = named.map(\.1)
        // The stored per-sample group statistics by layer (a constant, no gradient).
        var groups: [ObjectIdentifier: GroupStatistics.Layer] = [:]
        for (name, layer) in named { if let stored = model.groupStatistics?.layers[name] { groups[ObjectIdentifier(layer)] = stored } }
        var terms: [Tensor] = []
        var hooks: [(BatchNorm2d, Int)] = []
        for (index, layer) in layers.enumerated() {
            let scale = index == 0 ? firstLayerMultiplier : 1
            let id = layer.addForwardHook { module, input, _ in
                let norm = module as! BatchNorm2d
                let seen = norm is ContinualNorm ? groupNorm(input, groups: (norm as! ContinualNorm).groups, epsilon: norm.epsilon) : input
                let mean = seen.mean(axes: [0, 2, 3])
                let variance = seen.variance(axes: [0, 2, 3])
                let dv = norm.running_var.value - variance, dm = norm.running_mean.value - mean
                var term = (dv * dv).sum().sqrt() + (dm * dm).sum().sqrt()
                if let stored = groups[ObjectIdentifier(norm)] { term = term + stored.distance(to: input) }
                terms.append(term * scale)
            }
            hooks.append((layer, id))
        }
        defer { for (layer, id) in hooks { layer.removeForwardHook(id) } }
        let logits = model.logits(x)
        let statistics = terms.dropFirst().reduce(terms.first ?? Tensor.scalar(0), +)
        return (statistics, logits)
    }

    /// One batch for `labels`, starting from x0 = mu_y + N(0, 1)/10 per pixel. The model must be
    /// in evaluation mode and is not changed.
    public func synthesize(model: IncrementalNet, labels: [Int], classMeans: [Float], imageShape: [Int], seed: UInt64,
                           progress: ((Int, Double) -> Void)? = nil) -> (images: [Float], trace: Trace) {
        let generator = RandomGenerator(seed: seed)
        let size = imageShape.reduce(1, *)
        var start = [Float](repeating: 0, count: labels.count * size)
        for (b, y) in labels.enumerated() {
            for k in 0..<size { start[b * size + k] = classMeans[y * size + k] + Float(generator.normal() / 10) }
        }
        return synthesize(model: model, labels: labels, start: start, imageShape: imageShape, generator: generator, progress: progress)
    }

    /// The optimisation from a given starting batch (jitter and flips drawn from `generator`);
    /// `progress` hears (iterations done, that iteration's loss) every tenth of the run or every
    /// 100 iterations, whichever comes first.
    public func synthesize(model: IncrementalNet, labels: [Int], start: [Float], imageShape: [Int], generator: RandomGenerator,
                           progress: ((Int, Double) -> Void)? = nil) -> (images: [Float], trace: Trace) {
        let pixels = Parameter(Tensor(start, shape: [labels.count] + imageShape))
        let optimizer = Adam([pixels], learningRate: settings.learningRate, beta1: settings.beta1, beta2: settings.beta2, epsilon: 1e-8)
        var schedule = CosineWarmupSchedule(base: settings.learningRate, warmup: settings.warmup, total: settings.iterations, factor: settings.cosineFactor)
        let measure = { (x: Tensor) -> (Double, Double) in
            Autograd.withNoGrad {
                let (statistics, logits) = Self.statisticsAndLogits(model, x, firstLayerMultiplier: settings.firstLayerMultiplier)
                return (statistics.item(), crossEntropy(logits, targets: labels).item())
            }
        }
        let (statisticsBefore, crossEntropyBefore) = measure(pixels.value)
        var best = pixels.value.floats()
        var bestLoss = Double.infinity, firstLoss = Double.nan
        let reportEvery = max(min(settings.iterations / 10, 100), 1)
        for iteration in 0..<settings.iterations {
            optimizer.setLearningRate(schedule.learningRate)
            schedule.step()
            let dh = generator.int(below: 2 * settings.jitter + 1) - settings.jitter
            let dw = generator.int(below: 2 * settings.jitter + 1) - settings.jitter
            let flip = settings.flip && generator.uniform() < 0.5
            optimizer.zeroGrad()
            let loss: Tensor = Autograd.withGrad {
                var x = pixels.value.rolled(shifts: [dh, dw], axes: [2, 3])
                if flip { x = x.flipped([3]) }
                let (statistics, logits) = Self.statisticsAndLogits(model, x, firstLayerMultiplier: settings.firstLayerMultiplier)
                return crossEntropy(logits, targets: labels) * settings.mainLoss + totalVariation(x).l2 * tvL2
                    + statistics * settings.statistics + meanL2Norm(x) * settings.l2
            }
            loss.backward()
            optimizer.step()
            if settings.clampChannel0 { Self.clampChannel0(pixels.value) }
            let value = loss.item()
            if firstLoss.isNaN { firstLoss = value }
            if value < bestLoss {
                bestLoss = value
                best = pixels.value.floats()
            }
            if (iteration + 1) % reportEvery == 0 { progress?(iteration + 1, value) }
        }
        let (statisticsAfter, crossEntropyAfter) = measure(Tensor(best, shape: [labels.count] + imageShape))
        return (best, Trace(firstLoss: firstLoss, bestLoss: bestLoss, statisticsBefore: statisticsBefore, statisticsAfter: statisticsAfter,
                            crossEntropyBefore: crossEntropyBefore, crossEntropyAfter: crossEntropyAfter))
    }

    /// The reference's `clip` with dim=1: channel 0 only, to the ImageNet-normalised [0, 1].
    static func clampChannel0(_ x: Tensor) {
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        let p = x.pointer(Float.self)
        let low = Float(-0.485 / 0.229), high = Float((1 - 0.485) / 0.229)
        for b in 0..<n { for k in 0..<plane { let i = b * c * plane + k; p[i] = min(max(p[i], low), high) } }
    }

    /// The synthetic set of a task: `batches` batches of `batch_size` images, labels uniform over
    /// the old classes, each batch from its own seed and its own copy of the model, spread over
    /// `workers` threads (the batches are independent). Returns the images and each batch's trace.
    /// In long runs (1000 iterations or more: the reference's 5000 take hours) `log` hears the
    /// first batch's progress every 100 iterations and each finished batch.
    public func synthesizeSet(copyModel: () throws -> IncrementalNet, oldClasses: Int, batches: Int,
                              classMeans: [Float], imageShape: [Int], seed: UInt64, workers: Int,
                              log: ((String) -> Void)? = nil) throws -> (ImageSet, [Trace]) {
        let labelGenerator = RandomGenerator(seed: seed)
        let labelSets = (0..<batches).map { _ in (0..<settings.batchSize).map { _ in labelGenerator.int(below: oldClasses) } }
        let copies = try (0..<min(workers, batches)).map { _ in try copyModel() }
        // One model copy per worker slot: forward hooks and layer state are per module.
        let lock = NSLock()
        var free = copies
        // Batch-level parallelism replaces the kernels' own: one thread per kernel makes each
        // batch's numbers independent of the worker count.
        let kernelThreads = workers > 1 ? 1 : Parallel.threads
        let started = Date()
        var finished = 0
        let long = settings.iterations >= 1000
        let say = { (line: String) in if long { lock.lock(); log?(line); lock.unlock() } }
        let results = parallelMap(batches, workers: workers) { b -> ([Float], Trace) in
            lock.lock(); let net = free.removeLast(); lock.unlock()
            defer { lock.lock(); free.append(net); lock.unlock() }
            let progress: ((Int, Double) -> Void)? = b == 0 && long && log != nil ? { done, loss in
                say(String(format: "      synthesis batch 1/%d: iteration %d/%d, loss %.4f, %.0f s", batches, done, settings.iterations, loss,
                           Date().timeIntervalSince(started)))
            } : nil
            let result = Parallel.withThreads(kernelThreads) {
                synthesize(model: net, labels: labelSets[b], classMeans: classMeans, imageShape: imageShape, seed: seed &+ UInt64(b + 1) &* 7919,
                           progress: progress)
            }
            lock.lock(); finished += 1; let count = finished; lock.unlock()
            say(String(format: "      synthesis: %d/%d batches done, %.0f s", count, batches, Date().timeIntervalSince(started)))
            return result
        }
        let set = ImageSet(pixels: results.flatMap(\.0), labels: labelSets.flatMap { $0 }, shape: imageShape)
        return (set, results.map(\.1))
    }
}
