import ArrayFiles
import DataLoading
import Dispatch
import Foundation
import NeuralNet
import TensorCore

/// Settings of a multi-site class-incremental run (read from YAML; defaults are the seed's,
/// which `medcil demo` scales down to fit a 2-core machine).
public struct ExperimentSettings: Codable, Sendable {
    public var classifier = ClassifierSpec(classes: [])
    public var base = TrainingSettings()
    public var expert = TrainingSettings()
    public var combined = TrainingSettings()
    public var fineTune = TrainingSettings()
    public var fusion = ScoreFusion.Settings()
    /// Augmented passes over each site's training data for the fusion features (the seed: 5).
    public var featurePasses = 5
    public var methods: [String] = ExperimentSettings.allMethods

    public static let allMethods = FusionMethod.allCases.map(\.rawValue) + ["combined", "fine-tune"]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case classifier, base, expert, combined, fusion, methods
        case fineTune = "fine_tune"
        case featurePasses = "feature_passes"
    }
}

/// The seed's experiment, run end to end on converted site datasets: the base classifier on
/// the first site; for each later site an expert initialised from the base backbone, the
/// fusion networks on exported features (never images) of all sites so far, and the untrained
/// fusion baselines; Combine & Retrain and sequential fine-tuning at the same settings.
/// After every step each method predicts every seen site's test set; `run.json` records the
/// predictions and every stage's training time.
public final class WeightedExpertsExperiment {
    public let sites: [URL]
    public let settings: ExperimentSettings
    public let folder: URL
    public var log: (String) -> Void = { print($0) }
    /// Progress of long stages: (label, done so far, total). Each stage reports 0 when it
    /// starts and `total` when it ends (also when it stops early).
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }

    public init(sites: [URL], settings: ExperimentSettings, folder: URL) {
        self.sites = sites
        self.settings = settings
        self.folder = folder
    }

    struct SiteData {
        var name: String
        var description: ShardDescription
        var train: ShardDataset, validation: ShardDataset, test: ShardDataset
        /// The same splits with canonical labels (for pooled models and evaluation).
        var trainCanonical: ShardDataset, validationCanonical: ShardDataset, testCanonical: ShardDataset
    }

    public func run() throws -> RunLedger {
        let data = try sites.map { url -> SiteData in
            let description = try ShardDescription.load(from: url)
            return SiteData(name: description.site, description: description,
                            train: try ShardDataset(folder: url, split: "train", labelSpace: .site),
                            validation: try ShardDataset(folder: url, split: "val", labelSpace: .site),
                            test: try ShardDataset(folder: url, split: "test", labelSpace: .site),
                            trainCanonical: try ShardDataset(folder: url, split: "train"),
                            validationCanonical: try ShardDataset(folder: url, split: "val"),
                            testCanonical: try ShardDataset(folder: url, split: "test"))
        }
        guard let first = data.first else { throw IncrementalError.invalid("no sites") }
        let taxonomy = first.description.classes
        let names = Dictionary(uniqueKeysWithValues: taxonomy.map { ($1, $0) })
        func classes(_ site: SiteData) -> [String] { site.description.siteClassIndices.map { names[$0]! } }
        var ledger = RunLedger(sites: zip(data, sites).map { RunLedger.Site(name: $0.name, dataset: $1.path, classes: classes($0)) },
                               taxonomy: taxonomy, methods: settings.methods)
        ledger.settings = [
            "architecture": settings.classifier.architecture.rawValue, "width": String(settings.classifier.width),
            "input size": "\(settings.classifier.inputSize)x\(settings.classifier.inputSize)",
            "epochs (base, expert, combined, fine-tune, fusion)": "\(settings.base.epochs), \(settings.expert.epochs), \(settings.combined.epochs), \(settings.fineTune.epochs), \(settings.fusion.epochs)",
            "feature passes": String(settings.featurePasses), "threads": String(Parallel.threads),
        ]
        let wants = Set(settings.methods)
        let fusionMethods = FusionMethod.allCases.filter { wants.contains($0.rawValue) }

        // Step 0: the base classifier.
        log("step 0: base classifier on \(first.name) (\(first.train.count) training samples, \(classes(first).count) classes)")
        let baseSpec = settings.classifier.withClasses(classes(first))
        let (base, baseOutcome) = try trainClassifier(spec: baseSpec, settings: settings.base, train: first.train, validation: first.validation,
                                                      label: "base \(first.name)", initialFrom: nil)
        try saveClassifier(base, spec: baseSpec, sites: [first], settings: settings.base, outcome: baseOutcome, initialisedFrom: nil,
                           name: "models/base", nmfFrom: first.train)
        for method in settings.methods { ledger.stages.append(.init(method: method, step: 0, stage: "train base classifier", seconds: baseOutcome.seconds)) }
        let basePredictions = try classifierPredictions(base, spec: baseSpec, sites: [first])
        for method in settings.methods { try record(basePredictions, experts: [], method: method, step: 0, names: names, ledger: &ledger) }

        var experts: [(name: String, bundle: ModelBundle, model: Module, nmf: [Float])] = [try loadExpert("models/base")]
        var fineTuned = (model: base, spec: baseSpec)
        for step in 1..<data.count {
            let site = data[step]
            let seen = Array(data[0...step])
            log("step \(step): adding \(site.name) (\(site.train.count) training samples, \(classes(site).count) classes)")
            if !fusionMethods.isEmpty {
                // The new site's expert: base backbone, fresh head, trained on the site alone.
                let spec = settings.classifier.withClasses(classes(site))
                let expertStart = DispatchTime.now().uptimeNanoseconds
                let (expert, outcome) = try trainClassifier(spec: spec, settings: settings.expert, train: site.train, validation: site.validation,
                                                            label: "expert \(site.name)", initialFrom: base)
                try saveClassifier(expert, spec: spec, sites: [site], settings: settings.expert, outcome: outcome, initialisedFrom: "base",
                                   name: "models/expert-\(site.name)", nmfFrom: site.train)
                experts.append(try loadExpert("models/expert-\(site.name)"))
                let expertSeconds = Double(DispatchTime.now().uptimeNanoseconds - expertStart) / 1e9
                // Features of every seen site through every expert.
                let exportStart = DispatchTime.now().uptimeNanoseconds
                let exporter = FeatureExporter(experts: experts)
                var trainFolders: [URL] = [], validationFolders: [URL] = [], testFolders: [URL] = []
                for (k, s) in seen.enumerated() {
                    // Each site keeps its earlier exports: only the new expert runs over its data.
                    let root = folder.appendingPathComponent("features/step-\(step)/\(s.name)")
                    let earlier = folder.appendingPathComponent("features/step-\(step - 1)/\(s.name)")
                    _ = try withProgress("features \(s.name) train (new experts)") { report in
                        try exporter.export(source: s.trainCanonical, passes: settings.featurePasses, augmentation: .echoViews,
                                            seed: settings.fusion.seed &+ UInt64(k), to: root.appendingPathComponent("train"),
                                            reusing: earlier.appendingPathComponent("train"), progress: report)
                    }
                    _ = try exporter.export(source: s.validationCanonical, passes: 1, augmentation: nil, seed: 0, to: root.appendingPathComponent("val"),
                                            reusing: earlier.appendingPathComponent("val"))
                    _ = try exporter.export(source: s.testCanonical, passes: 1, augmentation: nil, seed: 0, to: root.appendingPathComponent("test"),
                                            reusing: earlier.appendingPathComponent("test"))
                    trainFolders.append(root.appendingPathComponent("train"))
                    validationFolders.append(root.appendingPathComponent("val"))
                    testFolders.append(root.appendingPathComponent("test"))
                }
                let exportSeconds = Double(DispatchTime.now().uptimeNanoseconds - exportStart) / 1e9
                let trainFeatures = try FeatureArrays.load(trainFolders)
                let validationFeatures = try FeatureArrays.load(validationFolders)
                let testFeatures = try FeatureArrays.load(testFolders)
                for method in fusionMethods {
                    ledger.stages.append(.init(method: method.rawValue, step: step, stage: "train expert \(site.name) + NMF", seconds: expertSeconds))
                    ledger.stages.append(.init(method: method.rawValue, step: step, stage: "export features", seconds: exportSeconds))
                    let fusionFolder = folder.appendingPathComponent("fusion/\(method.rawValue)/step-\(step)")
                    var bundle = FusionBundle(method: method, pooler: try KnowledgePooler(expertClasses: trainFeatures.description.experts.map(\.classes),
                                                                                          taxonomy: taxonomy),
                                              experts: trainFeatures.description.experts, featureDimension: trainFeatures.featureDimension,
                                              nmdDimension: trainFeatures.nmdCount, settings: settings.fusion, outcome: nil)
                    var network: ScoreFusionNetwork?
                    if method.isTrained {
                        let (trained, outcome) = try withProgress("\(method.rawValue) step \(step)") { report in
                            try ScoreFusion.train(method: method, on: trainFeatures, validation: validationFeatures,
                                                  taxonomy: taxonomy, settings: settings.fusion) { epoch, _, _ in
                                report(epoch + 1, self.settings.fusion.epochs)
                            }
                        }
                        network = trained
                        ledger.stages.append(.init(method: method.rawValue, step: step, stage: "train fusion", seconds: outcome.seconds))
                        bundle.outcome = outcome
                        log("  \(method.rawValue): best validation accuracy \(String(format: "%.3f", outcome.bestValidationAccuracy ?? 0)) at epoch \(outcome.bestEpoch + 1)")
                    }
                    try bundle.save(network, to: fusionFolder)
                    let (rows, weighted) = try Predictions.fusion(bundle, network: network, on: testFeatures)
                    try record(rows, experts: weighted, method: method.rawValue, step: step, names: names, ledger: &ledger)
                }
            }
            if wants.contains("combined") {
                // Combine & Retrain: one classifier on every seen site pooled, from scratch.
                let union = Array(Set(seen.flatMap(classes))).sorted { taxonomy[$0]! < taxonomy[$1]! }
                let spec = settings.classifier.withClasses(union)
                let map = Dictionary(uniqueKeysWithValues: union.enumerated().map { (taxonomy[$1]!, $0) })
                let (model, outcome) = try trainClassifier(spec: spec, settings: settings.combined,
                                                           train: ConcatDataset(seen.map(\.trainCanonical), labelMap: map),
                                                           validation: ConcatDataset(seen.map(\.validationCanonical), labelMap: map),
                                                           label: "combined \(seen.map(\.name).joined(separator: "+"))", initialFrom: nil)
                try saveClassifier(model, spec: spec, sites: seen, settings: settings.combined, outcome: outcome, initialisedFrom: nil,
                                   name: "models/combined-step-\(step)", nmfFrom: nil)
                ledger.stages.append(.init(method: "combined", step: step, stage: "retrain on all sites", seconds: outcome.seconds))
                try record(try classifierPredictions(model, spec: spec, sites: seen), experts: [], method: "combined", step: step, names: names, ledger: &ledger)
            }
            if wants.contains("fine-tune") {
                // Fine-tuning: the previous model, its head grown to the new classes, trained on the new site only.
                let union = Array(Set(fineTuned.spec.classes + classes(site))).sorted { taxonomy[$0]! < taxonomy[$1]! }
                let spec = settings.classifier.withClasses(union)
                let map = Dictionary(uniqueKeysWithValues: union.enumerated().map { (taxonomy[$1]!, $0) })
                let start = try ClassifierSurgery.expandHead(of: fineTuned.model, spec: fineTuned.spec, to: union)
                let (model, outcome) = try trainClassifier(spec: spec, settings: settings.fineTune,
                                                           train: ConcatDataset([site.trainCanonical], labelMap: map),
                                                           validation: ConcatDataset([site.validationCanonical], labelMap: map),
                                                           label: "fine-tune on \(site.name)", initialFrom: nil, model: start)
                try saveClassifier(model, spec: spec, sites: [site], settings: settings.fineTune, outcome: outcome, initialisedFrom: "fine-tune step \(step - 1)",
                                   name: "models/fine-tune-step-\(step)", nmfFrom: nil)
                ledger.stages.append(.init(method: "fine-tune", step: step, stage: "fine-tune on \(site.name)", seconds: outcome.seconds))
                try record(try classifierPredictions(model, spec: spec, sites: seen), experts: [], method: "fine-tune", step: step, names: names, ledger: &ledger)
                fineTuned = (model, spec)
            }
            try ledger.save(to: folder)
        }
        try ledger.save(to: folder)
        return ledger
    }

    // MARK: - pieces

    func trainClassifier(spec: ClassifierSpec, settings: TrainingSettings, train: SampleSource, validation: SampleSource,
                         label: String, initialFrom: Module?, model existing: Module? = nil) throws -> (Module, TrainingOutcome) {
        NeuralNetRandom.seed(settings.seed)
        let model = existing ?? spec.build()
        if let initialFrom { try ClassifierSurgery.copyBackbone(from: initialFrom, to: model) }
        var trainer = ClassifierTrainer(settings: settings)
        var epoch = 0
        return try withProgress(label) { report in
        trainer.onBatch = { done, total in report(epoch * total + done, settings.epochs * total) }
        trainer.onEpoch = { record in
            epoch = record.epoch + 1
            if record.epoch == settings.epochs - 1 || (record.epoch + 1) % 5 == 0 {
                self.log(String(format: "  %@: epoch %d/%d loss %.3f train %.3f val %.3f (%.1f s)", label, record.epoch + 1, settings.epochs,
                                record.trainLoss, record.trainAccuracy, record.validationAccuracy ?? .nan, record.seconds))
            }
        }
        let outcome = try trainer.train(model, on: train, validation: validation)
        return (model, outcome)
        }
    }

    /// Runs a stage under a progress bar: reports 0 when it starts, the body's (done, total),
    /// and the end when the body stops short of its total (early stopping, reused features).
    func withProgress<T>(_ label: String, _ body: (_ report: @escaping (Int, Int) -> Void) throws -> T) rethrows -> T {
        let last = StageProgress()
        progress(label, 0, 1)
        defer { if last.done < last.total { progress(label, last.total, last.total) } }
        return try body { done, total in
            last.done = done
            last.total = total
            self.progress(label, done, total)
        }
    }

    func saveClassifier(_ model: Module, spec: ClassifierSpec, sites: [SiteData], settings: TrainingSettings, outcome: TrainingOutcome,
                        initialisedFrom: String?, name: String, nmfFrom: ShardDataset?) throws {
        let bundle = ModelBundle(spec: spec, sites: sites.map(\.name),
                                 normalization: Dictionary(uniqueKeysWithValues: sites.map { ($0.name, [$0.description.normalization.mean, $0.description.normalization.std]) }),
                                 settings: settings, outcome: outcome, initialisedFrom: initialisedFrom)
        let target = folder.appendingPathComponent(name)
        try bundle.save(model, to: target)
        if let nmfFrom {
            let nmf = try NeuralMeanDiscrepancy.meanFeature(model, over: nmfFrom)
            try NpyArray(nmf, shape: [nmf.count]).write(to: target.appendingPathComponent(ModelBundle.nmfFile))
        }
    }

    func loadExpert(_ name: String) throws -> (name: String, bundle: ModelBundle, model: Module, nmf: [Float]) {
        try FeatureExporter.loadExperts([folder.appendingPathComponent(name)])[0]
    }

    func classifierPredictions(_ model: Module, spec: ClassifierSpec, sites: [SiteData]) throws -> [PredictionRow] {
        try Predictions.classifier(model, spec: spec, on: sites.map(\.testCanonical))
    }

    func record(_ rows: [PredictionRow], experts: [String], method: String, step: Int, names: [Int: String], ledger: inout RunLedger) throws {
        let file = "predictions/\(method)/step-\(step).csv"
        try PredictionRow.write(rows, experts: experts, names: names, to: folder.appendingPathComponent(file))
        ledger.predictions.append(.init(method: method, step: step, file: file))
    }
}

/// How far a stage under `withProgress` has reported.
private final class StageProgress {
    var done = 0
    var total = 1
}
