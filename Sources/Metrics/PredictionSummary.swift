import ArrayFiles
import Foundation

/// Metrics of one set of predictions: pooled, per site, and the mean weight of each expert on
/// each site's samples (Bransby et al. 2024 expect an expert to weigh most on its own site).
public struct PredictionSummary: Codable, Sendable {
    public var pooled: ClassificationMetrics
    public var perSite: [String: ClassificationMetrics]
    /// site -> expert -> mean weight, for predictions that carry expert weights.
    public var meanExpertWeights: [String: [String: Double]]?
    public var experts: [String]?

    /// - Parameters:
    ///   - sites: the sites to summarise, in order (sites without rows are left out).
    ///   - names: canonical index -> class name.
    public init(rows: [PredictionRow], experts: [String], sites: [String], names: [Int: String]) {
        pooled = ClassificationMetrics(labels: rows.map(\.label), predictions: rows.map(\.prediction), names: names)
        perSite = [:]
        meanExpertWeights = nil
        self.experts = experts.isEmpty ? nil : experts
        for site in sites {
            let part = rows.filter { $0.site == site }
            guard !part.isEmpty else { continue }
            perSite[site] = ClassificationMetrics(labels: part.map(\.label), predictions: part.map(\.prediction), names: names)
            guard !experts.isEmpty else { continue }
            var means: [String: Double] = [:]
            for (k, expert) in experts.enumerated() {
                means[expert] = part.reduce(0.0) { $0 + Double($1.weights[k]) } / Double(part.count)
            }
            meanExpertWeights = meanExpertWeights ?? [:]
            meanExpertWeights![site] = means
        }
    }

    /// Sites in order of first appearance.
    public static func sites(of rows: [PredictionRow]) -> [String] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.site) { seen.append(row.site) }
        return seen
    }

    /// Accuracy and macro-F1 per site and pooled, then the expert-weight table.
    public var table: String {
        var lines = ["site            samples  accuracy %  macro-F1"]
        func line(_ name: String, _ m: ClassificationMetrics) -> String {
            name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(m.samples).leftPadded(9)
                + String(format: "%.1f", 100 * m.accuracy).leftPadded(12) + String(format: "%.3f", m.macroF1).leftPadded(10)
        }
        for site in perSite.keys.sorted() { lines.append(line(site, perSite[site]!)) }
        lines.append(line("all", pooled))
        if let weights = meanExpertWeights, let experts {
            lines.append("")
            lines.append("mean expert weight (rows: site of the samples)")
            lines.append(RunEvaluation.weightTable(weights, experts: experts, sites: weights.keys.sorted()))
        }
        return lines.joined(separator: "\n")
    }

    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: url)
    }
}
