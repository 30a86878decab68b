import Foundation
import NeuralNet
import TensorCore

/// `icarl-ce`: iCaRL's memory and classifier (Rebuffi et al. 2017), the memory-based reference,
/// named apart from iCaRL because its loss differs: an exemplar memory of
/// `exemplars_per_class` images per class chosen by herding, training on the new images plus
/// the memory with cross-entropy and logit distillation of the old classes (T = 2; the paper
/// uses sigmoid binary cross-entropy, MedCIL keeps one loss family for every baseline), and
/// classification by the nearest mean of exemplars in L2-normalised feature space. The memory
/// never holds more than `exemplars_per_class` images of any class.
public struct ICaRLMethod: ClassIncrementalMethod {
    public static let name = "icarl-ce"
    public static let summary = "iCaRL's memory (20 per class, herding) and nearest mean of exemplars, with softmax CE + distillation instead of its sigmoid BCE"
    public var norm: NormKind { .batch }

    public init() {}

    public func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome {
        let model = try grownModel(context, previous: previous, norm: norm)
        let started = Date()
        let images = context.taskTrain + (memory.exemplars ?? .empty(shape: context.imageShape))
        try trainWithLogitDistillation(model, context, images: images, previous: previous)
        var kept = memory.exemplars ?? .empty(shape: context.imageShape)
        for c in context.data.tasks[context.task] {
            let members = context.taskTrain.restricted(to: [c])
            kept = kept + members.subset(Self.herding(model.featureRows(members), count: members.count, dimension: model.featureSize,
                                                      keep: context.config.exemplarsPerClass))
        }
        return TaskOutcome(model: model, memory: MethodMemory(exemplars: kept), updateSeconds: Date().timeIntervalSince(started))
    }

    /// Herding: greedily the sample whose addition brings the mean of the chosen normalised
    /// features closest to the class mean; `keep` indices (fewer when the class has fewer).
    static func herding(_ rows: [Float], count: Int, dimension d: Int, keep: Int) -> [Int] {
        let features = normalizedRows(rows, count: count, dimension: d)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<count { for k in 0..<d { mean[k] += Double(features[i * d + k]) / Double(count) } }
        var chosen: [Int] = []
        var sum = [Double](repeating: 0, count: d)
        while chosen.count < min(keep, count) {
            var best = -1, bestDistance = Double.infinity
            for i in 0..<count where !chosen.contains(i) {
                var distance = 0.0
                let m = Double(chosen.count + 1)
                for k in 0..<d {
                    let diff = mean[k] - (sum[k] + Double(features[i * d + k])) / m
                    distance += diff * diff
                }
                if distance < bestDistance { bestDistance = distance; best = i }
            }
            chosen.append(best)
            for k in 0..<d { sum[k] += Double(features[best * d + k]) }
        }
        return chosen
    }

    static func normalizedRows(_ rows: [Float], count: Int, dimension d: Int) -> [Float] {
        var out = rows
        for i in 0..<count {
            let length = max(rows[(i * d)..<((i + 1) * d)].reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for k in 0..<d { out[i * d + k] = rows[i * d + k] / length }
        }
        return out
    }

    /// Nearest mean of exemplars: each class's mean normalised feature (normalised again),
    /// and the class whose mean is closest to the sample's normalised feature.
    public func predict(model: IncrementalNet, memory: MethodMemory, set: ImageSet) -> [Int] {
        guard let exemplars = memory.exemplars, exemplars.count > 0 else { return model.predict(set) }
        let d = model.featureSize, classes = model.classes
        let memoryRows = Self.normalizedRows(model.featureRows(exemplars), count: exemplars.count, dimension: d)
        var means = [Float](repeating: 0, count: classes * d)
        var counts = [Int](repeating: 0, count: classes)
        for (i, y) in exemplars.labels.enumerated() where y < classes {
            counts[y] += 1
            for k in 0..<d { means[y * d + k] += memoryRows[i * d + k] }
        }
        means = Self.normalizedRows(means, count: classes, dimension: d)
        let rows = Self.normalizedRows(model.featureRows(set), count: set.count, dimension: d)
        return (0..<set.count).map { i in
            var best = 0, bestDistance = Float.infinity
            for c in 0..<classes where counts[c] > 0 {
                var distance: Float = 0
                for k in 0..<d { let diff = rows[i * d + k] - means[c * d + k]; distance += diff * diff }
                if distance < bestDistance { bestDistance = distance; best = c }
            }
            return best
        }
    }
}
