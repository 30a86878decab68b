import Foundation
import Support
import TensorCore

/// The data of a sequence, ready for the methods: every split with labels as positions in the
/// class order, resized and padded to the network input, and cut into tasks.
///
/// - `train`: what each task learns from (its own classes only).
/// - `pool`: a held-out, unlabelled share of the training split, the target domain of the IdC
///   loss (the reference took test batches; methods.md 2.5 "Honest port notes").
/// - `validation`: model selection (the dataset's val split, or a held-out share of train).
/// - `test`: evaluation only.
public struct SequenceData: Sendable {
    public var train: ImageSet
    public var pool: ImageSet
    public var validation: ImageSet
    public var test: ImageSet
    /// Class names in the class order.
    public var classNames: [String]
    /// Positions (in the class order) of each task's classes.
    public var tasks: [Range<Int>]

    public init(splits: DatasetSplits, config: SequenceConfig) throws {
        try config.validate()
        let position = Dictionary(uniqueKeysWithValues: config.classOrder.enumerated().map { ($1, $0) })
        for label in config.classOrder where !splits.train.labels.contains(label) {
            throw CILError("class \(label) of class_order has no training image (the dataset's labels: \(Set(splits.train.labels).sorted()))")
        }
        func ordered(_ set: ImageSet) -> ImageSet {
            let keep = set.labels.indices.filter { position[set.labels[$0]] != nil }
            var out = set.subset(keep)
            out.labels = out.labels.map { position[$0]! }
            return out.resizedAndPadded(inner: config.imageSize - 2 * config.padding, padding: config.padding)
        }
        let train = ordered(splits.train)
        // Held-out shares, drawn per class so every class keeps training images.
        var generator = SeededGenerator(seed: config.seed &+ 0x5EED)
        var poolIndices: [Int] = [], validationIndices: [Int] = [], trainIndices: [Int] = []
        let validationShare = splits.validation == nil ? config.validationFraction : 0
        for c in 0..<config.classOrder.count {
            var members = train.labels.indices.filter { train.labels[$0] == c }
            generator.shuffle(&members)
            let pool = Int((Double(members.count) * config.poolFraction).rounded())
            let validation = Int((Double(members.count) * validationShare).rounded())
            poolIndices += members.prefix(pool)
            validationIndices += members.dropFirst(pool).prefix(validation)
            trainIndices += members.dropFirst(pool + validation)
        }
        self.train = train.subset(trainIndices.sorted())
        var pool = train.subset(poolIndices.sorted())
        pool.labels = pool.labels.map { _ in -1 }  // unlabelled: nothing may read them
        self.pool = pool
        validation = splits.validation.map(ordered) ?? train.subset(validationIndices.sorted())
        test = ordered(splits.test)
        classNames = config.classOrder.map { splits.classNames[$0] ?? "class \($0)" }
        var start = 0
        tasks = config.taskSizes.map { size in
            defer { start += size }
            return start..<(start + size)
        }
    }

    /// Classes learnt up to and including task `t`.
    public func seenClasses(through t: Int) -> Int { tasks[t].upperBound }
}
