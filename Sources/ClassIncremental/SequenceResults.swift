import ArrayFiles
import Foundation
import Metrics

/// The numbers of a sequence run: per method, the records of every task, and from them the
/// accuracy matrix and the metrics of methods.md section 4.
public struct SequenceResults: Codable, Sendable {
    public struct MethodResult: Codable, Sendable {
        public var method: String
        public var matrix: AccuracyMatrix
        public var records: [TaskRecord]
        public var finalAccuracy: Double
        public var averageIncrementalAccuracy: Double
        public var forgetting: Double?
        public var backwardTransfer: Double?

        enum CodingKeys: String, CodingKey {
            case method, matrix, records, forgetting
            case finalAccuracy = "final_accuracy", averageIncrementalAccuracy = "average_incremental_accuracy"
            case backwardTransfer = "backward_transfer"
        }
    }

    public var classNames: [String]
    public var taskSizes: [Int]
    public var methods: [MethodResult]

    enum CodingKeys: String, CodingKey {
        case methods
        case classNames = "class_names", taskSizes = "task_sizes"
    }

    public init(config: SequenceConfig, classNames: [String], records: [[TaskRecord]]) {
        self.classNames = classNames
        taskSizes = config.taskSizes
        let tasks = config.taskSizes.indices.map { "task \($0 + 1)" }
        methods = zip(config.methods, records).map { name, records in
            let values: [[Double?]] = records.map { record in tasks.indices.map { $0 < record.taskAccuracy.count ? record.taskAccuracy[$0] : nil } }
            let matrix = AccuracyMatrix(tasks: tasks, values: values, pooledAccuracy: records.map(\.pooledAccuracy))
            return MethodResult(method: name, matrix: matrix, records: records, finalAccuracy: matrix.finalAccuracy,
                                averageIncrementalAccuracy: matrix.averageIncrementalAccuracy, forgetting: matrix.forgetting,
                                backwardTransfer: matrix.backwardTransfer)
        }
    }

    /// The metric definitions (methods.md section 4), printed once in every report.
    public static let definitions = """
    R[t][j]: accuracy on task j's test images after learning task t (argmax over every class seen so far).
    A_t: accuracy after task t on the pooled test images of tasks 1..t. Final accuracy = A_T.
    Average incremental accuracy = (1/T) sum_t A_t, the first task included (Rebuffi et al. 2017).
    Forgetting = (1/(T-1)) sum_{j<T} max_{l<T} R[l][j] - R[T][j] (Chaudhry et al. 2018).
    BWT = (1/(T-1)) sum_{j<T} R[T][j] - R[j][j]; negative is forgetting (Lopez-Paz & Ranzato 2017).
    """

    /// The comparison table (percent), one row per method.
    public var table: String {
        func percent(_ x: Double?) -> String { x.map { String(format: "%.1f", 100 * $0) } ?? "-" }
        var lines = ["| method | final acc % | avg incr acc % | forgetting % | BWT % | A_t per task % | synthesis s | update s |",
                     "|---|---|---|---|---|---|---|---|"]
        for m in methods {
            let synthesis = m.records.map(\.synthesisSeconds).reduce(0, +), update = m.records.map(\.updateSeconds).reduce(0, +)
            lines.append("| \(m.method) | \(percent(m.finalAccuracy)) | \(percent(m.averageIncrementalAccuracy)) | \(percent(m.forgetting)) | "
                         + "\(percent(m.backwardTransfer)) | \(m.records.map { percent($0.pooledAccuracy) }.joined(separator: " / ")) | "
                         + String(format: "%.0f | %.0f |", synthesis, update))
        }
        return lines.joined(separator: "\n")
    }

    /// Each method's R[t][j] and per-class accuracy after the last task, as text.
    public var details: String {
        var out = ""
        for m in methods {
            out += "\n\(m.method): R[t][j] (%), rows t = after task t\n"
            for (t, row) in m.matrix.values.enumerated() {
                out += "  t=\(t + 1): " + row.map { $0.map { String(format: "%5.1f", 100 * $0) } ?? "    -" }.joined(separator: " ") + "\n"
            }
            if let last = m.records.last {
                out += "  per class after the last task: " + zip(classNames, last.classAccuracy).map { String(format: "%@ %.0f", $0, 100 * $1) }.joined(separator: ", ") + "\n"
                out += "  per task seconds (synthesis/update): " + m.records.map { String(format: "%.0f/%.0f", $0.synthesisSeconds, $0.updateSeconds) }.joined(separator: ", ") + "\n"
            }
        }
        return out
    }

    /// results.json, results.md and report.html in `folder`.
    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent("results.json"))
        let text = "# Class-incremental sequence\n\n" + table + "\n\n```\n" + Self.definitions + "\n" + details + "```\n"
        try AtomicFile.write(Data(text.utf8), to: folder.appendingPathComponent("results.md"))
        try SequenceReport.write(self, run: folder, to: folder.appendingPathComponent("report.html"))
    }
}
