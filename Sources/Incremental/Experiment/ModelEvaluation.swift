import DataLoading
import Foundation
import Metrics

/// One saved model on its test data (`medcil evaluate --fusion` or `--classifier`): writes
/// predictions.csv (a row per sample, with each expert's weight) and metrics.json (per site
/// and pooled, the mean expert weight per site) into `out`.
public enum ModelEvaluation {
    /// A fusion on exported test features of every site (through the fusion's experts).
    public static func fusion(_ folder: URL, features: [URL], out: URL) throws -> PredictionSummary {
        let (bundle, network) = try FusionBundle.load(from: folder)
        let data = try FeatureArrays.load(features)
        let (rows, experts) = try Predictions.fusion(bundle, network: network, on: data)
        return try write(rows, experts: experts, taxonomy: data.description.classes, out: out)
    }

    /// A classifier on a split of sites' converted datasets.
    public static func classifier(_ folder: URL, shards: [URL], split: String, out: URL) throws -> PredictionSummary {
        let (bundle, model) = try ModelBundle.load(from: folder)
        let sources = try shards.map { try ShardDataset(folder: $0, split: split) }
        let rows = try Predictions.classifier(model, spec: bundle.spec, on: sources)
        return try write(rows, experts: [], taxonomy: sources[0].description.classes, out: out)
    }

    static func write(_ rows: [PredictionRow], experts: [String], taxonomy: [String: Int], out: URL) throws -> PredictionSummary {
        let names = Dictionary(uniqueKeysWithValues: taxonomy.map { ($1, $0) })
        try PredictionRow.write(rows, experts: experts, names: names, to: out.appendingPathComponent("predictions.csv"))
        let summary = PredictionSummary(rows: rows, experts: experts, sites: PredictionSummary.sites(of: rows), names: names)
        try summary.save(to: out.appendingPathComponent("metrics.json"))
        return summary
    }
}
