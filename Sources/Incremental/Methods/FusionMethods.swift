import Foundation
import Metrics
import Training

/// The weighted-experts family (Bransby et al. 2024; docs/methods/weighted-experts.md): at
/// each step a fusion of all experts so far, trained (sf, nmd-wsf, attn-wsf) or a fixed rule
/// (max-logit, max-softmax, routing), on exported features only. Saves `fusion/<method>/step-<k>`.
final class FusionMethodRunner: IncrementalMethod {
    let method: FusionMethod
    let settings: ScoreFusion.Settings

    init(method: FusionMethod, settings: ScoreFusion.Settings) {
        self.method = method
        self.settings = settings
    }

    static func entry(_ method: FusionMethod) -> MethodEntry {
        MethodEntry(name: method.rawValue, summary: method.summary, needs: .expertFeatures, learntExpertWeights: method.learnsExpertWeights) {
            FusionMethodRunner(method: method, settings: $0.fusion)
        }
    }

    func addSite(_ context: StepContext) throws -> MethodStep {
        let features = try context.requireFeatures(method.rawValue)
        let fusionFolder = context.folder.appendingPathComponent("fusion/\(method.rawValue)/step-\(context.step)")
        var bundle = FusionBundle(method: method, pooler: try KnowledgePooler(expertClasses: features.train.description.experts.map(\.classes),
                                                                              taxonomy: context.taxonomy),
                                  experts: features.train.description.experts, featureDimension: features.train.featureDimension,
                                  nmdDimension: features.train.nmdCount, settings: settings, outcome: nil)
        var network: ScoreFusionNetwork?
        var stages: [(name: String, seconds: Double)] = []
        if method.isTrained {
            let key = "\(method.rawValue)-step-\(context.step)"
            let resume = context.resume(key, fingerprint: "fusion \(method.rawValue) step \(context.step) \(try ResolvedConfig.text(settings)) \(features.train.count)")
            let label = "\(method.rawValue) step \(context.step)"
            let (trained, outcome) = try context.withProgress(label) { report in
                try ScoreFusion.train(method: method, on: features.train, validation: features.validation, taxonomy: context.taxonomy,
                                      settings: settings, resume: resume, onEpoch: { record in report(record.epoch + 1, self.settings.epochs) },
                                      onResume: { done in context.log("  \(label): continuing after epoch \(done) of \(self.settings.epochs)") })
            }
            network = trained
            bundle.outcome = outcome
            stages.append(("train fusion", outcome.seconds))
            context.log("  \(method.rawValue): best validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)) at epoch \(outcome.bestEpoch + 1)")
            try bundle.save(network, to: fusionFolder)
            context.clearResume(key)
        } else {
            try bundle.save(nil, to: fusionFolder)
        }
        let (rows, weighted) = try Predictions.fusion(bundle, network: network, on: features.test)
        return MethodStep(predictions: rows, experts: weighted, stages: stages)
    }
}

extension FusionMethod {
    /// One line for tables of methods.
    public var summary: String {
        switch self {
        case .sf: return "score fusion of all experts (no weights), trained on exported features"
        case .nmdWSF: return "score fusion weighted per case from the experts' neural mean discrepancies"
        case .attnWSF: return "score fusion weighted per case from the experts' features"
        case .maxLogit: return "the largest logit of any expert per class (untrained)"
        case .maxSoftmax: return "the largest softmax probability of any expert per class (untrained)"
        case .routing: return "the most confident expert decides alone (untrained)"
        }
    }

    /// Whether the method learns a weight per expert and case (the report shows these).
    public var learnsExpertWeights: Bool {
        switch self {
        case .nmdWSF, .attnWSF: return true
        case .sf, .maxLogit, .maxSoftmax, .routing: return false
        }
    }
}
