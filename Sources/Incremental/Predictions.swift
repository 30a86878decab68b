import ArrayFiles
import DataLoading
import Foundation
import Metrics
import NeuralNet
import Training

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
                let name = spec.outputClasses[Evaluate.argmax(scores)]
                guard let predicted = taxonomy[name] else {
                    throw IncrementalError.invalid("class '\(name)' is not in \(source.description.site)'s taxonomy")
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

