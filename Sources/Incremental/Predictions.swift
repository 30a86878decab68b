import ArrayFiles
import DataLoading
import Foundation
import NeuralNet

/// Predictions of saved models as rows of a predictions CSV (one row per test sample, with
/// the weight each expert got), shared by the experiment and by `medcil evaluate` on a model
/// or fusion trained step by step.
public enum Predictions {
    /// A single classifier (base, Combine & Retrain, fine-tuned) on sites' samples in the
    /// canonical label space; its outputs are mapped to canonical indices by class name.
    public static func classifier(_ model: Module, spec: ClassifierSpec, on sources: [ShardDataset]) throws -> [PredictionRow] {
        var rows: [PredictionRow] = []
        for source in sources {
            let taxonomy = source.description.classes
            let (logits, labels) = try Evaluate.logits(model, on: source)
            for (i, (scores, label)) in zip(logits, labels).enumerated() {
                guard let predicted = taxonomy[spec.classes[Evaluate.argmax(scores)]] else {
                    throw IncrementalError.invalid("class '\(spec.classes[Evaluate.argmax(scores)])' is not in \(source.description.site)'s taxonomy")
                }
                rows.append(PredictionRow(id: source.sampleID(at: i), site: source.description.site, label: label, prediction: predicted, weights: []))
            }
        }
        return rows
    }

    /// A fusion (trained network, or an untrained combination when `network` is nil) on
    /// exported features of its own experts. `experts` names the weight columns: empty for
    /// SF, whose experts all count alike.
    public static func fusion(_ bundle: FusionBundle, network: ScoreFusionNetwork?, on data: FeatureArrays) throws
        -> (rows: [PredictionRow], experts: [String]) {
        guard data.description.experts == bundle.experts else {
            throw IncrementalError.invalid("the features were exported with experts \(data.description.experts.map(\.name)), the fusion was built for \(bundle.experts.map(\.name))")
        }
        let predictions: [FusedPrediction]
        if let network {
            predictions = try ScoreFusion.predict(network: network, on: data)
        } else {
            predictions = try ScoreFusion.predictUntrained(bundle.method, on: data, taxonomy: data.description.classes)
        }
        let rows = predictions.indices.map { i in
            PredictionRow(id: data.sampleIDs[i], site: data.sites[i], label: data.labels[i], prediction: predictions[i].canonicalIndex,
                          weights: predictions[i].expertWeights)
        }
        let weighted = rows.contains { !$0.weights.isEmpty }
        return (rows, weighted ? bundle.experts.map(\.name) : [])
    }
}

/// Metrics of one set of predictions: pooled, per site, and the mean weight of each expert on
/// each site's samples (the seed expects an expert to weigh most on its own site).
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
