import NeuralNet
import TensorCore
import Training

/// Trains a U-Net head on an increment through the shared training loop (Ozdemir et al. 2018,
/// eq. (1)):
///   new-data batch:  L = α L_c(new head) + (1 − α) Σ_old L_d(old head)   (L_c alone without distillation)
///   exemplar batch:  L = Σ_old L_d(old head)
///   replay of old data with real labels (`joint`):  L = L_c(old head)
/// with L_c the class-weighted pixel cross-entropy and L_d the same weighted cross-entropy
/// against the frozen previous model's soft targets. One Adam over all parameters (a head
/// that a batch does not use gets no gradient, so Adam leaves it alone). The epoch with the
/// best validation Dice of the new head is kept; with a resume folder every epoch is
/// checkpointed and a killed run continues bit-identically.
public struct SegmentationTrainer {
    public var settings: SegmentationSettings
    public var resume: ResumeCheckpoint?
    public var onEpoch: (EpochRecord, Bool) -> Void = { _, _ in }
    public var onBatch: (Int, Int) -> Void = { _, _ in }

    /// Which heads a run trains and how.
    public struct Heads {
        /// The head learning the increment's labels, and its class weights.
        public var new: Int
        public var newWeights: [Double]
        /// The old heads and their weights: in L_d (class weights or uniform, per the settings),
        /// or in L_c on a replay of old labels (class weights).
        public var old: [Int]
        public var oldWeights: [[Double]]
        /// Whether the old heads are distilled (LwfSeg and its exemplar variants).
        public var distil: Bool

        public init(new: Int, newWeights: [Double], old: [Int] = [], oldWeights: [[Double]] = [], distil: Bool = false) {
            self.new = new; self.newWeights = newWeights; self.old = old; self.oldWeights = oldWeights; self.distil = distil
        }
    }

    public init(settings: SegmentationSettings) { self.settings = settings }

    public func train(model: UNet, heads: Heads, batches: SegmentationBatches, validation: SliceSet?) throws -> TrainingOutcome {
        let settings = try settings.validated()
        guard heads.old.count == heads.oldWeights.count else {
            throw SegmentationError.invalid("\(heads.old.count) old heads with \(heads.oldWeights.count) sets of class weights")
        }
        if heads.distil && batches.softTargetClasses.count != heads.old.count {
            throw SegmentationError.invalid("distilling \(heads.old.count) old heads needs their soft targets, not \(batches.softTargetClasses.count)")
        }
        let optimizer: Optimizer, twoLosses: TwoLossAdam?
        if settings.twoOptimizers && heads.distil {
            twoLosses = TwoLossAdam(parameters: model.parameters(), newHead: model.heads[heads.new].parameters(),
                                    learningRate: settings.learningRate)
            optimizer = twoLosses!
        } else {
            twoLosses = nil
            optimizer = Adam(model.parameters(), learningRate: settings.learningRate)
        }
        let loop = TrainingLoop(model: model, optimizer: optimizer, batches: batches, epochs: settings.epochs) { batch in
            try self.step(model: model, heads: heads, batch: batch, twoLosses: twoLosses)
        }
        loop.patience = settings.patience
        if settings.validate, let validation {
            let images = validation.tensor
            loop.validate = {
                HeadPrediction.pooledDice(predicted: try HeadPrediction.labels(model: model, head: heads.new, images: images),
                                          reference: validation.masks)
            }
        }
        loop.resume = resume
        loop.onEpoch = onEpoch
        loop.onBatch = onBatch
        return try loop.run()
    }

    /// One batch's loss (eq. (1)); `samples` is the batch size and `correct` is left 0 (the
    /// loop's score is the validation Dice, or the last epoch without validation). With two
    /// optimizers a new-data batch runs L_c's backward pass here, stashes the body's part of
    /// it, and hands L_d to the loop (the epoch's loss then sums L_d only on those batches).
    func step(model: UNet, heads: Heads, batch: SegmentationBatch, twoLosses: TwoLossAdam? = nil) throws -> StepResult {
        let features = model.body(batch.images)
        let old: [SegmentationLosses.OldHead] = heads.distil
            ? zip(heads.old.indices, batch.softTargets).map { k, targets in
                SegmentationLosses.OldHead(logits: model.heads[heads.old[k]](features), softTargets: targets, weights: heads.oldWeights[k])
            }
            : []
        let samples = batch.images.shape[0]
        switch batch.kind {
        case .newData:
            guard let labels = batch.labels else { throw SegmentationError.invalid("a new-data batch without labels") }
            if let twoLosses, !old.isEmpty {
                let lc = SegmentationLosses.classification(logits: model.heads[heads.new](features), labels: labels, weights: heads.newWeights)
                lc.backward(retainGraph: true)
                twoLosses.stashClassificationGradients()
                return StepResult(loss: try SegmentationLosses.total(kind: .exemplar, alpha: settings.alpha, newHead: nil, oldHeads: old),
                                  samples: samples, correct: 0)
            }
            let loss = try SegmentationLosses.total(kind: .newData, alpha: settings.alpha,
                                                    newHead: (model.heads[heads.new](features), labels, heads.newWeights), oldHeads: old)
            return StepResult(loss: loss, samples: samples, correct: 0)
        case .exemplar:
            if let labels = batch.labels {
                guard let head = heads.old.first else { throw SegmentationError.invalid("a replay of old labels needs an old head") }
                let loss = SegmentationLosses.classification(logits: model.heads[head](features), labels: labels, weights: heads.oldWeights[0])
                return StepResult(loss: loss, samples: samples, correct: 0)
            }
            return StepResult(loss: try SegmentationLosses.total(kind: .exemplar, alpha: settings.alpha, newHead: nil, oldHeads: old),
                              samples: samples, correct: 0)
        }
    }
}
