import ArrayFiles
import DataLoading
import Foundation
@testable import Incremental
import Ingest
@testable import Metrics
import Phantoms
import Support
import TestSupport
import Testing
import Training

/// The weighted-experts experiment end to end on three phantom sites, small enough for a test
/// (32x32 frames, a small CNN): a (8 views, the base), b (2 views it shares with a) and d
/// (4 contrast views no other site has). Run once; the tests below read its outputs.
enum PhantomRun {
    static let root = TestPaths.temporaryDirectory("medcil-incremental")
    static let siteNames = ["a", "b", "d"]

    static let settings: ExperimentSettings = {
        var settings = ExperimentSettings()
        settings.classifier = ClassifierSpec(architecture: .smallCNN, width: 8, inputSize: 32, dropout: 0.1, classes: [])
        let training = TrainingSettings(epochs: 10, batchSize: 32, learningRate: 3e-3, seed: 10)
        settings.base = training
        settings.expert = training
        settings.combined = training
        settings.fineTune = training
        settings.fusion = ScoreFusion.Settings(epochs: 20, batchSize: 64, learningRate: 2e-3)
        settings.featurePasses = 2
        return settings
    }()

    /// Phantom exports converted at 32x32 with the sites' own converters.
    static let sites: [URL] = siteNames.map { PhantomShards.convert(EchoPhantomSite.named($0)!, perView: 8, seed: 21, size: 32, root: root) }

    /// The run folder, with metrics.json written as `medcil experiment` writes it.
    static let run: (folder: URL, evaluation: RunEvaluation) = {
        let folder = root.appendingPathComponent("run")
        let experiment = IncrementalExperiment(sites: sites, settings: settings, folder: folder)
        experiment.log = { _ in }
        _ = try! experiment.run()
        let evaluation = try! RunEvaluation.compute(run: folder)
        try! evaluation.save(to: folder)
        print(evaluation.comparisonTable)
        return (folder, evaluation)
    }()

    static func result(_ method: String) -> RunEvaluation.MethodResult {
        run.evaluation.methods.first { $0.method == method }!
    }
}

@Suite(.serialized) struct PhantomExperimentTests {
    /// Fine-tuning learns the base site first and then loses it to the last site (d shares no
    /// class with a): the seed's reason for experts.
    @Test func fineTuningForgetsTheBaseSite() {
        let matrix = PhantomRun.result("fine-tune").matrix
        let learnt = matrix.values[0][0]!, after = matrix.values[2][0]!
        #expect(learnt >= 0.6, "the base classifier learnt site a: \(learnt)")
        #expect(after <= learnt - 0.3, "site a after fine-tuning on b and d: \(after) (was \(learnt))")
        #expect(matrix.forgetting! >= 0.3)
    }

    /// The experts are frozen, so the weighted fusion keeps much more of the base site than
    /// fine-tuning does.
    @Test func weightedFusionKeepsTheBaseSite() {
        let fineTuned = PhantomRun.result("fine-tune").matrix.values[2][0]!
        for method in ["nmd-wsf", "attn-wsf", "sf"] {
            let kept = PhantomRun.result(method).matrix.values[2][0]!
            #expect(kept >= fineTuned + 0.3, "\(method) on site a after the last step: \(kept) vs fine-tune \(fineTuned)")
        }
    }

    /// `medcil evaluate` recomputes the same metrics from the saved predictions, and they agree
    /// with counts taken directly from the prediction CSVs.
    @Test func evaluationIsReproducedFromSavedPredictions() throws {
        let (folder, _) = PhantomRun.run
        let saved = try Data(contentsOf: folder.appendingPathComponent("metrics.json"))
        let again = try RunEvaluation.compute(run: folder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        #expect(try encoder.encode(again) == saved, "metrics.json differs when recomputed")

        let ledger = try RunLedger.load(from: folder)
        for method in ledger.methods {
            let last = ledger.predictions.filter { $0.method == method }.max { $0.step < $1.step }!
            let lines = try String(contentsOf: folder.appendingPathComponent(last.file), encoding: .utf8).split(separator: "\n").map {
                $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
            let header = lines[0], rows = lines.dropFirst()
            let correct = header.firstIndex(of: "correct")!, site = header.firstIndex(of: "site")!
            let accuracy = Double(rows.filter { $0[correct] == "1" }.count) / Double(rows.count)
            let result = PhantomRun.result(method)
            #expect(abs(result.final.accuracy - accuracy) < 1e-12, "\(method): \(result.final.accuracy) vs \(accuracy) counted")
            // Mean weight of each expert on each site's test samples.
            let weightColumns = header.enumerated().filter { $0.element.hasPrefix("weight_") }
            #expect(weightColumns.isEmpty == (result.meanExpertWeights == nil), "\(method)")
            // Single classifiers and SF weigh no expert; the other fusions report a weight per expert.
            #expect(weightColumns.count == (["sf", "combined", "fine-tune", "fine-tune-full-head"].contains(method) ? 0 : 3), "\(method)")
            for (column, name) in weightColumns {
                let expert = String(name.dropFirst("weight_".count))
                for siteName in ledger.sites.map(\.name) {
                    let part = rows.filter { $0[site] == siteName }
                    let mean = part.reduce(0.0) { $0 + Double($1[column])! } / Double(part.count)
                    let reported = result.meanExpertWeights![siteName]![expert]!
                    #expect(abs(mean - reported) < 1e-6, "\(method) \(siteName) \(expert): \(reported) vs \(mean)")
                }
            }
            // Learnt weights are a distribution over the experts; the untrained baselines name
            // the one expert that decided.
            for row in rows where !weightColumns.isEmpty {
                let weights = weightColumns.map { Double(row[$0.offset])! }
                switch method {
                case "nmd-wsf", "attn-wsf":
                    #expect(abs(weights.reduce(0, +) - 1) < 1e-4 && weights.allSatisfy { $0 >= 0 }, "\(method): weights \(weights)")
                default:
                    #expect(weights.sorted() == [0, 0, 1], "\(method): weights \(weights)")
                }
            }
        }
    }

    /// A site's features at step 2 reuse the columns of the step-1 experts; the result equals a
    /// full export through all three experts (same augmentation passes and seed).
    @Test func reusedFeaturesEqualAFullExport() throws {
        let (folder, _) = PhantomRun.run
        let experts = try FeatureExporter.loadExperts(["base", "expert-phantom-b", "expert-phantom-d"].map { folder.appendingPathComponent("models/\($0)") })
        let site = try ShardDataset(folder: PhantomRun.sites[0], split: "train")
        let fresh = root().appendingPathComponent("fresh-train")
        _ = try FeatureExporter(experts: experts).export(source: site, passes: PhantomRun.settings.featurePasses, augmentation: .echoViews,
                                                         seed: PhantomRun.settings.fusion.seed, to: fresh)
        let reused = try FeatureArrays.load([folder.appendingPathComponent("features/step-2/phantom-a/train")])
        let full = try FeatureArrays.load([fresh])
        #expect(reused.description.experts.map(\.name) == ["base", "expert-phantom-b", "expert-phantom-d"])
        #expect(reused.sampleIDs == full.sampleIDs)
        #expect(reused.labels == full.labels)
        #expect(reused.features == full.features)
        #expect(reused.logits == full.logits)
        #expect(reused.nmd == full.nmd)
    }

    /// Seeds make a run repeatable: the same settings give the same predictions, file for file.
    @Test func rerunGivesTheSamePredictions() throws {
        let (folder, _) = PhantomRun.run
        let again = root().appendingPathComponent("run-again")
        let experiment = IncrementalExperiment(sites: PhantomRun.sites, settings: PhantomRun.settings, folder: again)
        experiment.log = { _ in }
        let ledger = try experiment.run()
        #expect(!ledger.predictions.isEmpty)
        for entry in ledger.predictions {
            let first = try Data(contentsOf: folder.appendingPathComponent(entry.file))
            let second = try Data(contentsOf: again.appendingPathComponent(entry.file))
            #expect(first == second, "\(entry.file) differs between two runs")
        }
    }

    /// Reuse really copies: from a doctored step-1 export the old experts' columns come back
    /// doctored, and only the new expert's columns are computed.
    @Test func reuseCopiesTheEarlierExpertsColumns() throws {
        let (folder, _) = PhantomRun.run
        let experts = try FeatureExporter.loadExperts(["base", "expert-phantom-b", "expert-phantom-d"].map { folder.appendingPathComponent("models/\($0)") })
        let earlier = folder.appendingPathComponent("features/step-1/phantom-a/test")
        let doctored = root().appendingPathComponent("doctored-test")
        try? FileManager.default.removeItem(at: doctored)
        try FileManager.default.copyItem(at: earlier, to: doctored)
        let logits = try NpyArray.read(from: doctored.appendingPathComponent("logits.npy"))
        try NpyArray(logits.floatValues().map { $0 + 1000 }, shape: logits.shape).write(to: doctored.appendingPathComponent("logits.npy"))

        let site = try ShardDataset(folder: PhantomRun.sites[0], split: "test")
        let out = root().appendingPathComponent("reused-test")
        _ = try FeatureExporter(experts: experts).export(source: site, passes: 1, augmentation: nil, seed: 0, to: out, reusing: doctored)
        let reused = try FeatureArrays.load([out])
        let full = try FeatureArrays.load([folder.appendingPathComponent("features/step-2/phantom-a/test")])
        let old = logits.shape[1]  // base (8) and expert b (2)
        #expect(old == 10 && reused.logitCount == 14)
        for i in 0..<reused.count {
            for k in 0..<reused.logitCount {
                let expected = full.logits[i * 14 + k] + (k < old ? 1000 : 0)
                #expect(reused.logits[i * 14 + k] == expected, "sample \(i), logit \(k)")
            }
        }
    }

    /// The NMF saved with an expert is the mean signature over its own training set in
    /// evaluation mode, so the NMD averaged over that set is zero.
    @Test func savedNMFIsTheOwnTrainingSetMean() throws {
        let (folder, _) = PhantomRun.run
        let expert = try FeatureExporter.loadExperts([folder.appendingPathComponent("models/expert-phantom-b")])[0]
        let train = try ShardDataset(folder: PhantomRun.sites[1], split: "train", labelSpace: .site)
        let mean = try NeuralMeanDiscrepancy.meanFeature(expert.model, over: train, batchSize: 7)
        let scale = expert.nmf.map(abs).max()!
        let worst = zip(mean, expert.nmf).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4 * scale, "mean NMD over the expert's training set: max |.| \(worst) (scale \(scale))")
        // Another site's images are out of distribution: their mean NMD is not zero.
        let other = try ShardDataset(folder: PhantomRun.sites[2], split: "train", labelSpace: .canonical)
        let otherMean = try NeuralMeanDiscrepancy.meanFeature(expert.model, over: other)
        #expect(zip(otherMean, expert.nmf).map { abs($0 - $1) }.max()! > 100 * worst)
    }

    func root() -> URL { PhantomRun.root }
}

/// An experiment config names only what it changes; typos are errors.
@Suite struct ExperimentConfigTests {
    static func write(_ text: String) throws -> URL {
        let url = TestPaths.temporaryDirectory("medcil-config").appendingPathComponent("experiment.yaml")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test func partialConfigOverridesOnlyWhatItNames() throws {
        var base = ExperimentSettings()
        base.base = TrainingSettings(epochs: 12, batchSize: 32, learningRate: 2e-3, seed: 10)
        base.fusion = ScoreFusion.Settings(epochs: 30, batchSize: 64, learningRate: 1e-3)
        let url = try Self.write("""
        base:
          epochs: 3
          patience: 2
        fusion:
          learning_rate: 0.01
        methods: [nmd-wsf, fine-tune]
        """)
        let settings = try ConfigLoader.load(ExperimentSettings.self, from: url, over: base)
        #expect(settings.base.epochs == 3)
        #expect(settings.base.patience == 2)
        #expect(settings.base.batchSize == 32, "kept from the base settings, not the type's default (64)")
        #expect(settings.base.learningRate == 2e-3)
        #expect(settings.fusion.learningRate == 0.01)
        #expect(settings.fusion.epochs == 30)
        #expect(settings.methods == ["nmd-wsf", "fine-tune"])
        #expect(settings.expert == base.expert)
    }

    @Test func misspelledKeyIsNamed() throws {
        let url = try Self.write("base:\n  epocs: 3\n")
        do {
            _ = try ConfigLoader.load(ExperimentSettings.self, from: url, over: ExperimentSettings())
            Issue.record("a misspelled key was accepted")
        } catch {
            #expect("\(error)".contains("base.epocs"), "\(error)")
        }
    }
}
