import Support

/// Assigns patients (never single files) to train/val/test, deterministically from the
/// seed: all cines of one patient land in one split.
public enum SplitAssigner {
    /// The splits, in the order reports list them.
    public static let splitNames = ["train", "val", "test"]

    public struct Patient: Sendable {
        public var key: String
        /// Samples-to-be per canonical class index (files count as one each).
        public var classCounts: [Int: Int]

        public init(key: String, classCounts: [Int: Int]) {
            self.key = key
            self.classCounts = classCounts
        }
    }

    /// Returns split name per patient key.
    public static func assign(_ patients: [Patient], spec: SplitSpec) -> [String: String] {
        switch spec.method {
        case .hash: return byHash(patients, spec: spec)
        case .balanced: return balanced(patients, spec: spec)
        }
    }

    /// Each patient's split depends only on SHA-256(seed, key): stable as data grows.
    static func byHash(_ patients: [Patient], spec: SplitSpec) -> [String: String] {
        var result: [String: String] = [:]
        for patient in patients {
            let digest = SHA256.hash(Array("\(spec.seed):\(patient.key)".utf8))
            var value: UInt64 = 0
            for k in 0..<8 { value = value << 8 | UInt64(digest[k]) }
            let u = Double(value >> 11) * 0x1.0p-53
            result[patient.key] = u < spec.train ? "train" : (u < spec.train + spec.val ? "val" : "test")
        }
        return result
    }

    /// Greedy balancing: patients in a seeded order, larger ones first, each to the split
    /// that is furthest below its target share of the patient's classes and of patients.
    static func balanced(_ patients: [Patient], spec: SplitSpec) -> [String: String] {
        let splits = spec.fractions.filter { $0.1 > 0 }
        var order = patients.sorted { $0.key < $1.key }
        var generator = SeededGenerator(seed: UInt64(bitPattern: Int64(spec.seed)))
        generator.shuffle(&order)
        // Stable sort by size, largest first, keeping the seeded order among equals.
        order = order.enumerated().sorted { a, b in
            let sa = a.element.classCounts.values.reduce(0, +), sb = b.element.classCounts.values.reduce(0, +)
            return sa != sb ? sa > sb : a.offset < b.offset
        }.map(\.element)
        var classTotals: [Int: Double] = [:]
        for patient in patients { for (c, n) in patient.classCounts { classTotals[c, default: 0] += Double(n) } }
        let patientTotal = Double(patients.count)
        var current = [[Int: Double]](repeating: [:], count: splits.count)
        var currentPatients = [Double](repeating: 0, count: splits.count)
        var result: [String: String] = [:]
        for patient in order {
            var best = 0
            var bestScore = -Double.infinity
            for (s, split) in splits.enumerated() {
                var score = 0.0
                for (c, n) in patient.classCounts {
                    let total = max(classTotals[c] ?? 1, 1)
                    score += Double(n) / total * (split.1 * total - (current[s][c] ?? 0)) / total
                }
                score += (split.1 * patientTotal - currentPatients[s]) / max(patientTotal, 1)
                if score > bestScore + 1e-12 {
                    bestScore = score
                    best = s
                }
            }
            for (c, n) in patient.classCounts { current[best][c, default: 0] += Double(n) }
            currentPatients[best] += 1
            result[patient.key] = splits[best].0
        }
        // With few patients the greedy can leave a split empty (3 patients at 0.6/0.2/0.2 give
        // 2/1/0): give each empty split the last patient placed in the split furthest above
        // its target, as long as that split keeps one.
        for (s, split) in splits.enumerated() where currentPatients[s] == 0 {
            let donors = splits.indices.filter { currentPatients[$0] > 1 }
            guard let donor = donors.max(by: { currentPatients[$0] - splits[$0].1 * patientTotal < currentPatients[$1] - splits[$1].1 * patientTotal }),
                  let moved = order.last(where: { result[$0.key] == splits[donor].0 }) else { continue }
            result[moved.key] = split.0
            currentPatients[donor] -= 1
            currentPatients[s] += 1
        }
        return result
    }
}
