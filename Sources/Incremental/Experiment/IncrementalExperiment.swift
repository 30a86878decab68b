import ArrayFiles
import DataLoading
import Dispatch
import Foundation
import Metrics
import Reporting
import NeuralNet
import TensorCore
import Training

/// A multi-site class-incremental run, end to end on converted site datasets, for any
/// registered methods: the base classifier on the first site (step 0, shared by every
/// method that does not learn the first site itself); for each later site, an expert and the exported features when a method needs
/// them, then every method learns the site and predicts every seen site's test set. `run.json`
/// records the predictions and every stage's training time.
///
/// A killed run continues when started again on the same folder with the same settings: the
/// ledger is saved after every method's step, finished stages (the base classifier, experts,
/// feature exports, each method's steps) are loaded instead of trained, and a stage that was
/// interrupted resumes from its last finished epoch (`resume/` in the run folder). The result
/// is the same as an uninterrupted run's.
public final class IncrementalExperiment {
    public let sites: [URL]
    public let settings: ExperimentSettings
    public let folder: URL
    public let registry: MethodRegistry
    public var log: (String) -> Void = { print($0) }
    /// Progress of long stages: (label, done so far, total). Each stage reports 0 when it
    /// starts and `total` when it ends (also when it stops early).
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }

    public init(sites: [URL], settings: ExperimentSettings, folder: URL, registry: MethodRegistry = .builtIn) {
        self.sites = sites; self.settings = settings; self.folder = folder; self.registry = registry
    }

    public func run() throws -> RunLedger {
        let entries = try settings.methods.map { try registry.entry($0) }
        let data = try sites.map { try SiteData(folder: $0) }
        guard let first = data.first else { throw IncrementalError.invalid("no sites") }
        let taxonomy = first.description.classes
        var ledger = try startLedger(data: data, entries: entries)
        let methods = try entries.map { try $0.make(settings) }

        // Step 0: the base classifier.
        log("step 0: base classifier on \(first.name) (\(first.train.count) training samples, \(first.classes.count) classes)")
        let baseFolder = folder.appendingPathComponent("models/base")
        let baseJob = ClassifierJob(spec: settings.classifier.withClasses(first.classes), settings: settings.base, train: first.train,
                                    validation: first.validation)
        let (base, baseSeconds) = try classifier(baseJob, label: "base \(first.name)", key: "base", folder: baseFolder, sites: [first],
                                                 initialisedFrom: nil, nmf: true)
        let basePredictions = try Predictions.classifier(base, spec: baseJob.spec, on: [first.testCanonical])
        let firstContext = StepContext(step: 0, seen: [first], taxonomy: taxonomy, settings: settings, folder: folder,
                                       base: (base, baseJob.spec, baseFolder), features: nil, experiment: self)
        for (entry, method) in zip(entries, methods) {
            if ledger.has(method: entry.name, step: 0) {
                try method.resumeAfter(firstContext)
                continue
            }
            let result = try method.learnFirstSite(firstContext)
                ?? MethodStep(predictions: basePredictions, stages: [("train base classifier", baseSeconds)])
            try record(result, method: entry.name, step: 0, names: first.description.classNames, ledger: &ledger)
        }

        var expertFolders = [baseFolder]
        for step in 1..<data.count {
            let site = data[step]
            let seen = Array(data[0...step])
            log("step \(step): adding \(site.name) (\(site.train.count) training samples, \(site.classes.count) classes)")
            var shared: [(name: String, seconds: Double)] = []
            var features: ExpertFeatures?
            let pending = entries.filter { !ledger.has(method: $0.name, step: step) }
            if pending.contains(where: { $0.needs.contains(.expertFeatures) }) {
                // The new site's expert: base backbone, fresh head, trained on the site alone.
                let expertFolder = folder.appendingPathComponent("models/expert-\(site.name)")
                let job = ClassifierJob(spec: settings.classifier.withClasses(site.classes), settings: settings.expert, train: site.train,
                                        validation: site.validation, backbone: base)
                let (_, expertSeconds) = try classifier(job, label: "expert \(site.name)", key: "expert-\(site.name)", folder: expertFolder,
                                                        sites: [site], initialisedFrom: "base", nmf: true)
                expertFolders.append(expertFolder)
                let (exported, exportSeconds) = try exportFeatures(step: step, seen: seen, experts: expertFolders)
                features = exported
                shared = [("train expert \(site.name) + NMF", expertSeconds), ("export features", exportSeconds)]
            } else {
                expertFolders.append(folder.appendingPathComponent("models/expert-\(site.name)"))
            }
            let context = StepContext(step: step, seen: seen, taxonomy: taxonomy, settings: settings, folder: folder,
                                      base: (base, baseJob.spec, baseFolder), features: features, experiment: self)
            for (entry, method) in zip(entries, methods) {
                if ledger.has(method: entry.name, step: step) {
                    try method.resumeAfter(context)
                    continue
                }
                var result = try method.addSite(context)
                if entry.needs.contains(.expertFeatures) { result.stages = shared + result.stages }
                try record(result, method: entry.name, step: step, names: first.description.classNames, ledger: &ledger)
            }
        }
        try ledger.save(to: folder)
        return ledger
    }

    /// Runs (or continues) the experiment, then evaluates it from the saved predictions:
    /// metrics.json and report.html in the run folder.
    @discardableResult
    public func runAndEvaluate() throws -> RunEvaluation {
        _ = try run()
        return try RunReport.write(run: folder, to: folder)
    }

    // MARK: - ledger

    /// A fresh ledger, or the one a killed run with the same settings left.
    func startLedger(data: [SiteData], entries: [MethodEntry]) throws -> RunLedger {
        let config = try ResolvedConfig.text(settings)
        let configURL = folder.appendingPathComponent(ResolvedConfig.file)
        let sitesList = zip(data, sites).map { RunLedger.Site(name: $0.name, dataset: $1.path, classes: $0.classes) }
        if let earlier = try? RunLedger.load(from: folder) {
            let earlierConfig = (try? String(contentsOf: configURL, encoding: .utf8)) ?? ""
            guard earlierConfig == config, earlier.sites.map(\.dataset) == sitesList.map(\.dataset) else {
                throw IncrementalError.invalid("\(folder.path) holds a run with other settings or sites; give another folder or remove it to start over")
            }
            log("continuing the run in \(folder.path): \(earlier.predictions.count) method steps already done")
            return earlier
        }
        try AtomicFile.ensureDirectory(folder)
        try AtomicFile.write(Data(config.utf8), to: configURL)
        var ledger = RunLedger(sites: sitesList, taxonomy: data[0].description.classes, methods: settings.methods)
        ledger.methodsWithLearntExpertWeights = entries.filter(\.learntExpertWeights).map(\.name)
        ledger.settings = [
            "architecture": settings.classifier.architecture.rawValue, "width": String(settings.classifier.width),
            "input size": "\(settings.classifier.inputSize)x\(settings.classifier.inputSize)",
            "epochs (base, expert, combined, fine-tune, fusion)": "\(settings.base.epochs), \(settings.expert.epochs), \(settings.combined.epochs), \(settings.fineTune.epochs), \(settings.fusion.epochs)",
            "feature passes": String(settings.featurePasses), "threads": String(Parallel.threads),
        ]
        return ledger
    }

    /// Writes a method's predictions of a step and adds them and its stages to the ledger, saved at once.
    func record(_ result: MethodStep, method: String, step: Int, names: [Int: String], ledger: inout RunLedger) throws {
        let file = "predictions/\(method)/step-\(step).csv"
        try PredictionRow.write(result.predictions, experts: result.experts, names: names, to: folder.appendingPathComponent(file))
        for stage in result.stages { ledger.stages.append(.init(method: method, step: step, stage: stage.name, seconds: stage.seconds)) }
        ledger.predictions.append(.init(method: method, step: step, file: file))
        try ledger.save(to: folder)
    }

    // MARK: - shared stages

    /// A classifier every method shares (the base classifier, an expert): loaded when a
    /// finished copy is in `folder`, trained and saved otherwise. Returns it and its training seconds.
    func classifier(_ job: ClassifierJob, label: String, key: String, folder target: URL, sites: [SiteData], initialisedFrom: String?,
                    nmf: Bool) throws -> (Module, Double) {
        if ModelBundle.isComplete(target) {
            let (bundle, model) = try ModelBundle.load(from: target)
            return (model, bundle.outcome?.seconds ?? 0)
        }
        let (model, outcome) = try trainClassifier(job, label: label, key: key)
        try ModelBundle(spec: job.spec, sites: sites.map(\.description), settings: job.settings, outcome: outcome, initialisedFrom: initialisedFrom)
            .write(model, nmfOver: nmf ? job.train : nil, to: target)
        clearResume(key)
        return (model, outcome.seconds)
    }

    /// Every seen site's features through every expert so far. Each site keeps its earlier
    /// exports: only the new expert runs over its data. A finished export of this step (its
    /// `export.json`) is loaded as it is.
    func exportFeatures(step: Int, seen: [SiteData], experts: [URL]) throws -> (ExpertFeatures, Double) {
        let stepFolder = folder.appendingPathComponent("features/step-\(step)")
        let marker = stepFolder.appendingPathComponent("export.json")
        func folders(_ split: String) -> [URL] { seen.map { stepFolder.appendingPathComponent("\($0.name)/\(split)") } }
        var seconds: Double
        if let data = FileManager.default.contents(atPath: marker.path), let done = try? JSONDecoder().decode(ExportRecord.self, from: data) {
            seconds = done.seconds
        } else {
            let start = DispatchTime.now().uptimeNanoseconds
            let exporter = FeatureExporter(experts: try FeatureExporter.loadExperts(experts))
            for (k, s) in seen.enumerated() {
                let root = stepFolder.appendingPathComponent(s.name)
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
            }
            seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try AtomicFile.write(try JSONEncoder().encode(ExportRecord(seconds: seconds)), to: marker)
        }
        return (ExpertFeatures(train: try FeatureArrays.load(folders("train")), validation: try FeatureArrays.load(folders("val")),
                               test: try FeatureArrays.load(folders("test"))), seconds)
    }

    struct ExportRecord: Codable { var seconds: Double }

    // MARK: - services for methods

    /// Trains a classifier with a progress bar, a log line every 5 epochs, and a per-epoch
    /// checkpoint in `resume/<key>`.
    func trainClassifier(_ job: ClassifierJob, label: String, key: String) throws -> (Module, TrainingOutcome) {
        let epochs = job.settings.epochs
        var epoch = 0
        let resume = ResumeCheckpoint(folder: folder.appendingPathComponent("resume/\(key)"), fingerprint: job.fingerprint)
        return try withProgress(label) { report in
            try job.run(resume: resume, onEpoch: { record in
                epoch = record.epoch + 1
                if record.epoch == epochs - 1 || (record.epoch + 1) % 5 == 0 {
                    self.log(String(format: "  %@: epoch %d/%d loss %.3f train %.3f val %.3f (%.1f s)", label, record.epoch + 1, epochs,
                                    record.trainLoss, record.trainAccuracy, record.validationAccuracy ?? .nan, record.seconds))
                }
            }, onBatch: { done, total in report(epoch * total + done, epochs * total) },
               onResume: { done in self.log("  \(label): continuing after epoch \(done) of \(epochs)") })
        }
    }

    /// Removes a stage's checkpoint once its result is saved.
    func clearResume(_ key: String) {
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("resume/\(key)"))
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
}

extension RunLedger {
    /// Whether `method` finished `step` (its predictions are recorded).
    func has(method: String, step: Int) -> Bool { predictions.contains { $0.method == method && $0.step == step } }
}

/// How far a stage under `withProgress` has reported.
private final class StageProgress {
    var done = 0
    var total = 1
}
