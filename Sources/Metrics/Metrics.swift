/// Classification metrics from labels and predictions (canonical class indices).
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public struct PerClass: Codable, Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    /// Class names, in canonical index order: every class that occurs in the labels or the predictions.
    public var classes: [String]
    public var accuracy: Double
    /// Unweighted mean F1 over every class present in the labels or the predictions, as
    /// scikit-learn's `f1_score(average="macro")` computes it: a class only ever predicted
    /// (F1 0) lowers the mean.
    public var macroF1: Double
    public var perClass: [String: PerClass]
    /// confusion[true][predicted], in `classes` order.
    public var confusion: [[Int]]
    public var samples: Int

    public init(labels: [Int], predictions: [Int], names: [Int: String]) {
        precondition(labels.count == predictions.count)
        let present = Set(labels).union(predictions).sorted()
        classes = present.map { names[$0] ?? "class \($0)" }
        let position = Dictionary(uniqueKeysWithValues: present.enumerated().map { ($1, $0) })
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: present.count), count: present.count)
        for (y, p) in zip(labels, predictions) { confusion[position[y]!][position[p]!] += 1 }
        self.confusion = confusion
        samples = labels.count
        accuracy = labels.isEmpty ? 0 : Double(zip(labels, predictions).filter { $0 == $1 }.count) / Double(labels.count)
        var perClass: [String: PerClass] = [:]
        var f1s: [Double] = []
        for k in present.indices {
            let truePositive = Double(confusion[k][k])
            let predicted = Double(confusion.reduce(0) { $0 + $1[k] })
            let actual = Double(confusion[k].reduce(0, +))
            let precision = predicted > 0 ? truePositive / predicted : 0
            let recall = actual > 0 ? truePositive / actual : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            perClass[classes[k]] = PerClass(precision: precision, recall: recall, f1: f1, support: Int(actual))
            f1s.append(f1)
        }
        self.perClass = perClass
        macroF1 = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
    }
}

/// Class-incremental metrics of methods.md section 4 from R[t][j], the accuracy on task j's
/// test data after training step t (nil where task j is not yet learnt, j > t).
public struct AccuracyMatrix: Codable, Sendable, Equatable {
    public var tasks: [String]
    public var values: [[Double?]]
    /// A_t: accuracy after step t on the union of the test sets of tasks 0...t (pooled over samples).
    public var pooledAccuracy: [Double]

    public init(tasks: [String], values: [[Double?]], pooledAccuracy: [Double]) {
        self.tasks = tasks
        self.values = values
        self.pooledAccuracy = pooledAccuracy
    }

    var last: Int { values.count - 1 }

    /// Average incremental accuracy (Rebuffi et al.): the mean of A_t over all steps, the first included.
    public var averageIncrementalAccuracy: Double {
        pooledAccuracy.isEmpty ? 0 : pooledAccuracy.reduce(0, +) / Double(pooledAccuracy.count)
    }

    /// A_T, accuracy after the last step.
    public var finalAccuracy: Double { pooledAccuracy.last ?? 0 }

    /// Forgetting (Chaudhry et al.): mean over tasks j < T of max_{l < T} R[l][j] - R[T][j].
    public var forgetting: Double? {
        guard last >= 1 else { return nil }
        var values: [Double] = []
        for j in 0..<last {
            let earlier = (0..<last).compactMap { self.values[$0][j] }
            guard let best = earlier.max(), let now = self.values[last][j] else { continue }
            values.append(best - now)
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Backward transfer (Lopez-Paz & Ranzato): mean over j < T of R[T][j] - R[j][j]; negative is forgetting.
    public var backwardTransfer: Double? {
        guard last >= 1 else { return nil }
        var values: [Double] = []
        for j in 0..<last {
            guard let now = self.values[last][j], let then = self.values[j][j] else { continue }
            values.append(now - then)
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
