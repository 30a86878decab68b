import ArrayFiles
import Foundation

/// What an incremental run did, written as run.json in the run folder: the sites in the order
/// they arrived, the taxonomy, every stage's training time, and where each method's
/// predictions after each step are. `medcil evaluate` computes every table and figure from
/// this file and the prediction files alone.
public struct RunLedger: Codable, Sendable {
    public struct Site: Codable, Sendable {
        public var name: String
        /// Folder of the site's converted shards (relative to the run folder or absolute).
        public var dataset: String
        public var classes: [String]

        public init(name: String, dataset: String, classes: [String]) {
            self.name = name; self.dataset = dataset; self.classes = classes
        }
    }

    public struct Stage: Codable, Sendable {
        public var method: String
        public var step: Int
        public var stage: String
        public var seconds: Double

        public init(method: String, step: Int, stage: String, seconds: Double) {
            self.method = method; self.step = step; self.stage = stage; self.seconds = seconds
        }
    }

    public struct Predictions: Codable, Sendable {
        public var method: String
        public var step: Int
        /// CSV path relative to the run folder.
        public var file: String

        public init(method: String, step: Int, file: String) {
            self.method = method; self.step = step; self.file = file
        }
    }

    public var sites: [Site]
    public var taxonomy: [String: Int]
    public var methods: [String]
    public var stages: [Stage] = []
    public var predictions: [Predictions] = []
    /// Sizes and settings, for the report.
    public var settings: [String: String] = [:]
    /// Methods that weigh their experts case by case with learnt weights (the report shows
    /// those weights per site); each method says so in its registration.
    public var methodsWithLearntExpertWeights: [String]?

    public init(sites: [Site], taxonomy: [String: Int], methods: [String]) {
        self.sites = sites
        self.taxonomy = taxonomy
        self.methods = methods
    }

    public static let file = "run.json"

    public func save(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.file))
    }

    public static func load(from folder: URL) throws -> RunLedger {
        try readJSONDescription(RunLedger.self, file: file, in: folder, expected: "a run folder (written by `medcil experiment run` or `medcil demo`)")
    }

    /// Training seconds a method spent to add the site of `step`.
    public func seconds(method: String, step: Int) -> Double {
        stages.filter { $0.method == method && $0.step == step }.reduce(0) { $0 + $1.seconds }
    }
}

/// One test sample's prediction, as the prediction CSVs hold it.
public struct PredictionRow: Sendable, Equatable {
    public var id: String
    public var site: String
    public var label: Int
    public var prediction: Int
    /// Weight per expert (empty for single classifiers).
    public var weights: [Float]

    public init(id: String, site: String, label: Int, prediction: Int, weights: [Float]) {
        self.id = id; self.site = site; self.label = label; self.prediction = prediction; self.weights = weights
    }

    public static func write(_ rows: [PredictionRow], experts: [String], names: [Int: String], to url: URL) throws {
        var lines = [(["id", "site", "label", "label_name", "prediction", "prediction_name", "correct"] + experts.map { "weight_\($0)" })
            .joined(separator: ",")]
        for row in rows {
            var fields = [row.id, row.site, String(row.label), names[row.label] ?? "", String(row.prediction), names[row.prediction] ?? "",
                          row.label == row.prediction ? "1" : "0"]
            fields += row.weights.map { String(format: "%.6f", $0) }
            lines.append(fields.joined(separator: ","))
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: url)
    }

    /// Reads rows and the expert names of the weight columns.
    public static func read(from url: URL) throws -> (rows: [PredictionRow], experts: [String]) {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard !lines.isEmpty else { throw MetricsError("\(url.path) is empty") }
        let header = lines.removeFirst()
        let experts = header.dropFirst(7).map { String($0.dropFirst("weight_".count)) }
        let rows = try lines.map { fields -> PredictionRow in
            guard fields.count == header.count, let label = Int(fields[2]), let prediction = Int(fields[4]) else {
                throw MetricsError("\(url.path): malformed row \(fields.joined(separator: ","))")
            }
            return PredictionRow(id: fields[0], site: fields[1], label: label, prediction: prediction, weights: fields.dropFirst(7).map { Float($0) ?? 0 })
        }
        return (rows, experts)
    }
}
