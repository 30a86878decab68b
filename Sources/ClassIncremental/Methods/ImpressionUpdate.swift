import Foundation
import NeuralNet
import TensorCore
import Training

/// The pipeline CI and CCSI share (methods.md 2.4-2.5), with the network's normalisation as
/// the one difference: at task 1 weighted cross-entropy; at every later task
///
/// 1. synthesise class impressions of the old classes from the previous model;
/// 2. grow the head (old rows frozen), imprint the new rows;
/// 3. train on the new real images and the impressions, drawn with weights so that a share
///    `synthetic_ratio` of each epoch is synthetic, with
///    L = L1 + L2 + a3 L3 + a4 L4:
///    - L1 = lambda_t mean_b (1 - cos(f(x_b), f_ref(x_b))), lambda_t = lambda sqrt(old / new);
///    - L2 = class-weighted CE(sigma s, y), w_c = max_k n_k / n_c over real and synthetic labels;
///    - L3 = mean over old-class samples of max(0, m - (s_y - max_{new c} s_c));
///    - L4 = IdC: per epoch S, T (C x C) updated by momentum rho with the per-class mean score
///      vectors of the batch (source) and of an unlabelled pool batch by predicted class
///      (target); M = exp(T^ S^T / tau) of row-normalised S, T; L4 = -log tr M + log sum M;
/// 4. store the class means of the new classes with the model.
struct ImpressionPipeline {
    let norm: NormKind

    func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        let config = context.config
        let train = context.taskTrain
        var outcome: TaskOutcome
        guard let previous else {
            let model = try grownModel(context, previous: nil, norm: norm)
            let started = Date()
            let weights = TaskTrainer.classWeights(train.labels, classes: context.seenClasses)
            let batches = SampledBatches(set: train, batchSize: config.training.batchSize, seed: context.seed(21))
            _ = try TaskTrainer.train(model: model, batches: batches, epochs: config.epochs(task: 0), settings: config.training,
                                      validation: context.selectionValidation) { batch in
                let logits = model.logits(batch.images)
                return StepResult(loss: crossEntropy(logits, targets: batch.labels, weights: weights), samples: batch.labels.count,
                                  correct: zip(logits.argmax(axis: 1), batch.labels).filter { $0 == $1 }.count)
            }
            outcome = TaskOutcome(model: model, memory: memory, updateSeconds: Date().timeIntervalSince(started))
            outcome.memory.classMeans = train.classMeans(classes: context.seenClasses)
            return outcome
        }
        guard let classMeans = memory.classMeans, classMeans.count == context.oldClasses * train.imageSize else {
            throw CILError("task \(context.task + 1): the previous model's class means are missing or do not match its \(context.oldClasses) classes")
        }
        let shape = context.imageShape, old = context.oldClasses, seen = context.seenClasses
        let previousSizes = Array(context.taskSizes.dropLast())
        let copy = { try previous.copy(inChannels: shape[0], imageSize: shape[1], taskSizes: previousSizes) }

        // 1. Class impressions.
        let synthesisStarted = Date()
        let synthesis = ImpressionSynthesis(settings: config.synthesis, tvL2: config.tvL2(task: context.task))
        let (synthetic, traces) = try synthesis.synthesizeSet(copyModel: copy, oldClasses: old, batches: config.syntheticBatches(task: context.task),
                                                             classMeans: classMeans, imageShape: shape, seed: context.seed(31), workers: config.workers,
                                                             log: context.log)
        let synthesisSeconds = Date().timeIntervalSince(synthesisStarted)
        if let first = traces.first {
            context.log(String(format: "      synthesis: %d images, %.0f s; batch 1 loss %.3f -> %.3f, CE %.3f -> %.3f, statistics %.3f -> %.3f",
                               synthetic.count, synthesisSeconds, first.firstLoss, first.bestLoss, first.crossEntropyBefore,
                               first.crossEntropyAfter, first.statisticsBefore, first.statisticsAfter))
        }

        // 2. Grown head, imprinted and with the old rows frozen.
        let updateStarted = Date()
        let model = try grownModel(context, previous: previous, norm: norm)
        model.imprint(images: train)
        model.freezeOldRows()
        let reference = try copy()

        // 3. The update.
        let combined = train + synthetic
        let ratio = config.update.syntheticRatio
        let syntheticWeight = synthetic.count == 0 ? 0 : Double(train.count) * ratio / (Double(synthetic.count) * (1 - ratio))
        let weights = [Double](repeating: 1, count: train.count) + [Double](repeating: syntheticWeight, count: synthetic.count)
        let batches = SampledBatches(set: combined, batchSize: config.training.batchSize, seed: context.seed(41), weights: weights,
                                     samplesPerEpoch: Int((Double(train.count) / (1 - ratio)).rounded()))
        let classWeights = TaskTrainer.classWeights(combined.labels, classes: seen)
        let lambda = config.update.lambdaBase * (Double(old) / Double(seen - old)).squareRoot()
        let rho = config.perTask(config.update.rho, task: context.task), tau = config.perTask(config.update.tau, task: context.task)
        let pool = context.data.pool
        let poolOrder = RandomGenerator(seed: context.seed(51)).permutation(pool.count)
        var poolCursor = 0
        var source = Tensor.zeros([seen, seen]), target = Tensor.zeros([seen, seen])
        let update = config.update
        _ = try TaskTrainer.train(model: model, batches: batches, epochs: config.epochs(task: context.task), settings: config.training,
                                  validation: context.selectionValidation,
                                  onEpochEnd: { source = Tensor.zeros([seen, seen]); target = Tensor.zeros([seen, seen]) }) { batch in
            let features = model.features(batch.images)
            let scores = model.scores(features: features)
            let logits = scores * model.sigma.value
            let referenceFeatures = Autograd.withNoGrad { reference.features(batch.images) }
            let distillation = Self.featureDistillation(features, referenceFeatures) * lambda
            let crossEntropyLoss = crossEntropy(logits, targets: batch.labels, weights: classWeights)
            var loss = distillation + crossEntropyLoss
            if let margin = Self.marginRanking(scores: scores, labels: batch.labels, oldClasses: old, margin: update.margin) {
                loss = loss + margin * update.marginWeight
            }
            if pool.count > 1 {
                var indices: [Int] = []
                while indices.count < min(batch.labels.count, pool.count) {
                    indices.append(poolOrder[poolCursor % pool.count])
                    poolCursor += 1
                }
                let poolScores = model.scores(features: model.features(pool.batch(indices)))
                let predicted = (poolScores * model.sigma.value).argmax(axis: 1)
                source = source.detach() * (1 - rho) + Self.classMeanRows(scores, labels: batch.labels, classes: seen) * rho
                target = target.detach() * (1 - rho) + Self.classMeanRows(poolScores, labels: predicted, classes: seen) * rho
                loss = loss + Self.intraDomainContrastive(source: source, target: target, tau: tau) * update.contrastiveWeight
            }
            guard loss.item().isFinite else {
                throw CILError("task \(context.task + 1): the update's loss is not finite (\(loss.item())); lower training.learning_rate")
            }
            return StepResult(loss: loss, samples: batch.labels.count,
                              correct: zip(logits.argmax(axis: 1), batch.labels).filter { $0 == $1 }.count)
        }
        outcome = TaskOutcome(model: model, memory: memory, synthesisSeconds: synthesisSeconds,
                              updateSeconds: Date().timeIntervalSince(updateStarted), synthetic: synthetic)
        outcome.memory.classMeans = classMeans + train.classMeans(classes: seen)[(old * train.imageSize)...]
        return outcome
    }

    /// L1 before lambda: mean_b (1 - cos(f_b, f_ref_b)), torch's CosineEmbeddingLoss with target
    /// +1, with norms that stay finite for all-zero feature rows (`normalizedRows`).
    static func featureDistillation(_ features: Tensor, _ reference: Tensor) -> Tensor {
        let cosine = (IncrementalNet.normalizedRows(features) * IncrementalNet.normalizedRows(reference)).sum(axes: [1])
        return (1 - cosine).mean()
    }

    /// L3: mean over samples of old classes of max(0, m - (s[y] - max_{c >= old} s[c])); nil
    /// when the batch has none.
    static func marginRanking(scores: Tensor, labels: [Int], oldClasses: Int, margin: Double) -> Tensor? {
        let rows = labels.indices.filter { labels[$0] < oldClasses }
        guard !rows.isEmpty, oldClasses > 0 else { return nil }
        let classes = scores.shape[1]
        var pick = [Float](repeating: 0, count: labels.count * classes)
        var mask = [Float](repeating: 0, count: labels.count)
        for b in rows { pick[b * classes + labels[b]] = 1; mask[b] = 1 }
        let groundTruth = (scores * Tensor(pick, shape: scores.shape)).sum(axes: [1])
        let newTop = scores.slice(axis: 1, oldClasses..<classes).max(axis: 1).values.reshaped([labels.count])
        let hinge = ((groundTruth - newTop) * -1 + margin).relu() * Tensor(mask, shape: [labels.count])
        return hinge.sum() / Double(rows.count)
    }

    /// [classes, D]: row i = the mean of the rows of `scores` labelled i (zero when none).
    static func classMeanRows(_ scores: Tensor, labels: [Int], classes: Int) -> Tensor {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[y] += 1 }
        var averaging = [Float](repeating: 0, count: classes * labels.count)
        for (b, y) in labels.enumerated() { averaging[y * labels.count + b] = 1 / Float(counts[y]) }
        return Tensor(averaging, shape: [classes, labels.count]).matmul(scores)
    }

    /// L4 = -log tr M + log sum M, M = exp(T^ S^T / tau), rows of S and T L2-normalised (+1e-10).
    static func intraDomainContrastive(source: Tensor, target: Tensor, tau: Double) -> Tensor {
        // Rows of classes absent from the batch are zero: the 1e-30 keeps sqrt's derivative finite there.
        func normalized(_ m: Tensor) -> Tensor { m / (((m * m).sum(axes: [1], keepDims: true) + 1e-30).sqrt() + 1e-10) }
        let similarity = (normalized(target).matmul(normalized(source).transposed()) / tau).exp()
        let n = similarity.shape[0]
        var eye = [Float](repeating: 0, count: n * n)
        for i in 0..<n { eye[i * n + i] = 1 }
        return (similarity * Tensor(eye, shape: [n, n])).sum().log() * -1 + similarity.sum().log()
    }
}
