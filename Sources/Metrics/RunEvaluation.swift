import ArrayFiles
import Foundation

/// Every number of a run, computed from run.json and the prediction files only: re-running
/// evaluation on the same folder gives the same numbers.
public struct RunEvaluation: Codable, Sendable {
    public struct MethodResult: Codable, Sendable {
        public var method: String
        /// Pooled over every site's test set after the last step.
        public var final: ClassificationMetrics
        /// After the last step, per site.
        public var perSite: [String: ClassificationMetrics]
        public var matrix: AccuracyMatrix
        /// Training seconds to add the last site, and per step.
        public var secondsForLastSite: Double
        public var secondsPerStep: [Double]
        /// Mean weight each expert gets on each site's test samples after the last step
        /// (site -> expert -> weight), for methods that weight experts.
        public var meanExpertWeights: [String: [String: Double]]?
        public var experts: [String]?
        /// Whether the expert weights are learnt case by case (not a fixed rule such as the
        /// most confident expert deciding).
        public var learntExpertWeights: Bool?
    }

    public var methods: [MethodResult]
    public var sites: [String]
    public var settings: [String: String]

    public static func compute(run folder: URL) throws -> RunEvaluation {
        let ledger = try RunLedger.load(from: folder)
        let names = Dictionary(uniqueKeysWithValues: ledger.taxonomy.map { ($1, $0) })
        let sites = ledger.sites.map(\.name)
        var results: [MethodResult] = []
        for method in ledger.methods {
            let files = ledger.predictions.filter { $0.method == method }.sorted { $0.step < $1.step }
            guard let lastFile = files.last else { continue }
            var values: [[Double?]] = [], pooled: [Double] = []
            for file in files {
                let (rows, _) = try PredictionRow.read(from: folder.appendingPathComponent(file.file))
                values.append(sites.map { site in
                    let part = rows.filter { $0.site == site }
                    return part.isEmpty ? nil : Double(part.filter { $0.label == $0.prediction }.count) / Double(part.count)
                })
                pooled.append(rows.isEmpty ? 0 : Double(rows.filter { $0.label == $0.prediction }.count) / Double(rows.count))
            }
            let (rows, experts) = try PredictionRow.read(from: folder.appendingPathComponent(lastFile.file))
            let summary = PredictionSummary(rows: rows, experts: experts, sites: sites, names: names)
            let steps = files.map(\.step)
            results.append(MethodResult(method: method,
                                        final: summary.pooled, perSite: summary.perSite, matrix: AccuracyMatrix(tasks: sites, values: values, pooledAccuracy: pooled),
                                        secondsForLastSite: ledger.seconds(method: method, step: lastFile.step),
                                        secondsPerStep: steps.map { ledger.seconds(method: method, step: $0) },
                                        meanExpertWeights: summary.meanExpertWeights, experts: summary.experts,
                                        learntExpertWeights: (ledger.methodsWithLearntExpertWeights ?? []).contains(method)))
        }
        return RunEvaluation(methods: results, sites: sites, settings: ledger.settings)
    }

    /// One row per method: accuracy (%), macro-F1, average incremental accuracy, forgetting,
    /// BWT and the training time for adding the last site.
    public var comparisonTable: String {
        // The method column fits the longest registered name (at least 14 wide).
        let width = max(14, (methods.map(\.method.count).max() ?? 0) + 2)
        var lines = ["method".padding(toLength: width, withPad: " ", startingAt: 0)
            + "accuracy %  macro-F1   avg inc acc %  forgetting %  BWT %   time to add last site (s)"]
        lines.append(String(repeating: "-", count: lines[0].count))
        for r in methods {
            func percent(_ x: Double?) -> String { x.map { String(format: "%.1f", 100 * $0) } ?? "-" }
            lines.append(r.method.padding(toLength: width, withPad: " ", startingAt: 0)
                + percent(r.final.accuracy).leftPadded(10) + String(format: "%.3f", r.final.macroF1).leftPadded(10)
                + percent(r.matrix.averageIncrementalAccuracy).leftPadded(15) + percent(r.matrix.forgetting).leftPadded(14)
                + percent(r.matrix.backwardTransfer).leftPadded(8) + String(format: "%.1f", r.secondsForLastSite).leftPadded(28))
        }
        return lines.joined(separator: "\n")
    }

    /// Mean weight of each expert (columns) on each site's test samples (rows), after the last
    /// step; Bransby et al. 2024 expect the largest weight on the diagonal (an expert on its own site).
    public func expertWeightTable(method: String) -> String {
        guard let result = methods.first(where: { $0.method == method }), let weights = result.meanExpertWeights,
              let experts = result.experts else { return "" }
        return Self.weightTable(weights, experts: experts, sites: sites)
    }

    /// Rows: sites (in the order given; sites without weights left out); columns: experts.
    static func weightTable(_ weights: [String: [String: Double]], experts: [String], sites: [String]) -> String {
        let width = max(10, (experts.map(\.count).max() ?? 0) + 2)
        var lines = ["site".padding(toLength: 14, withPad: " ", startingAt: 0) + experts.map { $0.leftPadded(width) }.joined()]
        for site in sites {
            guard let row = weights[site] else { continue }
            lines.append(site.padding(toLength: 14, withPad: " ", startingAt: 0)
                + experts.map { String(format: "%.3f", row[$0] ?? 0).leftPadded(width) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    /// The sites on whose test samples their own expert gets the largest mean weight (in a
    /// run, expert k is site k's: the base classifier for the first site, then one expert per
    /// site), or nil for a method without expert weights.
    public func sitesWhereOwnExpertWeighsMost(method: String) -> [String]? {
        guard let result = methods.first(where: { $0.method == method }), let weights = result.meanExpertWeights,
              let experts = result.experts, experts.count == sites.count else { return nil }
        return sites.enumerated().filter { k, site in
            guard let row = weights[site], let own = row[experts[k]] else { return false }
            return experts.allSatisfy { ($0 == experts[k]) || (row[$0] ?? 0) < own }
        }.map(\.element)
    }

    public func save(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent("metrics.json"))
    }
}

extension String {
    /// Right-aligned in a column of `width` characters (text tables of every method family).
    public func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
