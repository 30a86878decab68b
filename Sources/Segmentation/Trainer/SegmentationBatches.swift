import DataLoading
import TensorCore
import Training

/// One batch of an increment (eq. (1)): new-data batches carry the new head's labels and the
/// frozen previous model's soft targets for every old head; replay batches carry exemplars
/// with their soft targets, or (for the `joint` upper bound) old data with its real labels.
public struct SegmentationBatch {
    public var kind: SegmentationLosses.BatchKind
    /// [B, 1, H, W]
    public var images: Tensor
    /// Labels of the batch in its head's label space, B·H·W: the new head's on new data, the
    /// old head's on a replay of old data with real labels; nil on exemplar batches.
    public var labels: [Int]?
    /// Per old head [B, classes, H, W]; empty when nothing is distilled.
    public var softTargets: [Tensor]
}

/// Replayed slices: exemplars (with soft targets) or old annotated data (with labels).
public struct ReplaySet: Sendable {
    public var images: [[Float]]
    /// Per slice, per old head: [classes·H·W] (empty arrays for real-label replay).
    public var softTargets: [[[Float]]]
    /// Real labels per slice (joint); nil: distil the soft targets.
    public var labels: [[Int]]?

    public var count: Int { images.count }

    public init(memory: ExemplarMemory) {
        images = memory.exemplars.map(\.image)
        softTargets = memory.exemplars.map(\.softTargets)
        labels = nil
    }

    public init(annotated data: SliceSet) {
        images = (0..<data.count).map { data.image($0) }
        softTargets = Array(repeating: [], count: data.count)
        labels = data.masks
    }
}

/// The batches of an increment, epoch by epoch, fixed by (seed, epoch) alone so that a
/// resumed run sees exactly what an uninterrupted one saw (`EpochBatches`). An epoch walks
/// all new slices once in a seeded order, ceil(N / B) new-data batches; before each of them,
/// with probability `replayRatio` per draw, replay batches of B slices drawn at random are
/// inserted (the reference code's `train_ratio_exemplar_vs_new`: each step is a replay step
/// with probability r, so replay steps make up a fraction r of the steps on average).
/// Every sample is augmented jointly with its soft targets by a stream of its own.
public struct SegmentationBatches: EpochBatches {
    public let data: SliceSet
    /// Per old head: soft targets of every new slice [N, classes, H, W] (flattened).
    public let softTargets: [[Float]]
    public let softTargetClasses: [Int]
    public let replay: ReplaySet?
    public let replayRatio: Double
    public let batchSize: Int
    public let seed: UInt64
    public let augmentation: JointAugmentation?

    public init(data: SliceSet, softTargets: [Tensor], replay: ReplaySet?, replayRatio: Double, batchSize: Int, seed: UInt64, augment: Bool) {
        self.data = data
        self.softTargets = softTargets.map { $0.floats() }
        softTargetClasses = softTargets.map { $0.shape[1] }
        self.replay = (replay?.count ?? 0) > 0 ? replay : nil
        self.replayRatio = replayRatio
        self.batchSize = batchSize
        self.seed = seed
        augmentation = augment ? JointAugmentation() : nil
    }

    var newBatches: Int { (data.count + batchSize - 1) / batchSize }

    /// The epoch's plan: for each step, nil (the next new-data batch) or the replay indices.
    func plan(epoch: Int) -> [(kind: SegmentationLosses.BatchKind, indices: [Int])] {
        let generator = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        let order = generator.permutation(data.count)
        var steps: [(SegmentationLosses.BatchKind, [Int])] = []
        for b in 0..<newBatches {
            if let replay {
                while generator.uniform() < replayRatio {
                    steps.append((.exemplar, (0..<batchSize).map { _ in generator.int(below: replay.count) }))
                }
            }
            steps.append((.newData, Array(order[(b * batchSize)..<min((b + 1) * batchSize, data.count)])))
        }
        return steps
    }

    public var batchesPerEpoch: Int { plan(epoch: 0).count }

    public func forEachBatch(epoch: Int, _ body: (SegmentationBatch) throws -> Void) throws {
        let (h, w) = (data.height, data.width)
        for (step, (kind, indices)) in plan(epoch: epoch).enumerated() {
            var images: [Float] = [], labels: [Int] = [], targets = [[Float]](repeating: [], count: softTargetClasses.count)
            var hasLabels = true
            for (slot, i) in indices.enumerated() {
                var image: [Float], mask: [Int]?, soft: [[Float]]
                if kind == .newData {
                    image = data.image(i); mask = data.masks[i]
                    soft = zip(softTargets, softTargetClasses).map { values, c in Array(values[(i * c * h * w)..<((i + 1) * c * h * w)]) }
                } else {
                    image = replay!.images[i]; mask = replay!.labels?[i]; soft = replay!.softTargets[i]
                }
                if let augmentation {
                    let generator = RandomGenerator(seed: seed ^ (UInt64(epoch) << 40) ^ (UInt64(step) << 20) ^ UInt64(slot) &* 0xD1B5_4A32_D192_ED03)
                    // Soft targets of all heads travel as one stack of maps, so one geometry moves them all.
                    var stacked: [Float]? = soft.isEmpty ? nil : soft.flatMap { $0 }
                    var sample = Sample(pixels: image, label: 0, mask: mask ?? [Int](repeating: 0, count: h * w))
                    try augmentation.apply(&sample, shape: [1, h, w], softTargets: &stacked, valueRange: nil, generator: generator)
                    image = sample.pixels
                    if mask != nil { mask = sample.mask }
                    if let stacked {
                        var offset = 0
                        soft = soft.map { part in defer { offset += part.count }; return Array(stacked[offset..<(offset + part.count)]) }
                    }
                }
                images += image
                if let mask { labels += mask } else { hasLabels = false }
                if soft.count == targets.count { for k in targets.indices { targets[k] += soft[k] } }
            }
            let b = indices.count
            let softTensors = kind == .exemplar && replay?.labels != nil ? []
                : zip(targets, softTargetClasses).map { Tensor($0, shape: [b, $1, h, w]) }
            try body(SegmentationBatch(kind: kind, images: Tensor(images, shape: [b, 1, h, w]), labels: hasLabels ? labels : nil,
                                       softTargets: softTensors))
        }
    }
}
