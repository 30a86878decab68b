import Console
import Foundation
import Incremental
import Ingest
import Metrics
import Phantoms
import Support
import Training

/// The weighted-experts part of `medcil demo` (Bransby et al. 2024): phantom echo exports of
/// four sites (broken files among them), their conversion with each site's converter, the
/// multi-site class-incremental comparison of every registered method with the sites arriving
/// in the order a, b, c, d, and the table. Writes into the demo's root folder (exports/,
/// shards/, state/, run/).
public struct ExpertsDemo: DemoPart {
    public static let name = "experts"
    public static let summary = "weighted experts across four phantom echo sites (Bransby et al. 2024)"

    public var out: URL
    public var converters: URL
    public var preset: DemoPreset
    /// Seed of the phantom data (and of the phantoms' fixed identifier salt).
    public var seed: UInt64
    public var workers: Int
    public var progressMode: ProgressReporter.Mode
    /// Progress of the experiment's stages: (label, done, total).
    public var stageProgress: (String, Int, Int) -> Void = { _, _, _ in }
    /// Where the demo's lines go.
    public var say: (String) -> Void = { print($0) }
    public var registry: MethodRegistry = .builtIn

    public init(out: URL, converters: URL, preset: DemoPreset, seed: UInt64, workers: Int, progressMode: ProgressReporter.Mode) {
        self.out = out; self.converters = converters; self.preset = preset
        self.seed = seed; self.workers = workers; self.progressMode = progressMode
    }

    public init(context: DemoContext) throws {
        var preset = context.full ? DemoPreset.full : DemoPreset.quick
        if let perView = context.perView { preset.perView = perView }
        if let config = context.experimentConfig {
            preset.settings = try ConfigLoader.load(ExperimentSettings.self, from: config, over: preset.settings)
        }
        self.init(out: context.out, converters: context.converters, preset: preset, seed: context.seed,
                  workers: context.workers, progressMode: context.progressMode)
        stageProgress = context.stageProgress
        say = context.say
    }

    public func runPart() throws -> String {
        try run().comparisonTable
    }

    @discardableResult
    public func run() throws -> RunEvaluation {
        let exports = out.appendingPathComponent("exports"), shards = out.appendingPathComponent("shards")
        let started = Date()
        let size = preset.settings.classifier.inputSize
        say(preset.describe(threads: workers))

        say("\n== 1/4 phantom exports (\(preset.perView) cines per view, seed \(seed)) -> \(exports.path)")
        for site in EchoPhantomSite.all {
            let summary = try EchoPhantomExporter.export(site: site, to: exports, perView: preset.perView, seed: seed, faults: true,
                                                         workers: workers, progress: progressMode)
            say("   site \(site.name): \(summary.files) cines + \(summary.faults.count) unusable files  (\(site.summary))")
        }

        say("\n== 2/4 conversion at \(size)x\(size) -> \(shards.path)")
        // Phantoms identify no one, so the demo's identifier salt is fixed (derived from the
        // seed) instead of random: sample ids, and with them loading order and every number of
        // the run, are then the same on every machine. It sits in the demo's own state folder
        // under its own name and is passed explicitly, so that no later conversion takes it
        // for a default salt (those are random, one per output folder).
        let state = out.appendingPathComponent("state")
        let saltURL = state.appendingPathComponent("demo-salt")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data(SHA256.hash(Array("medcil demo phantoms, seed \(seed)".utf8))).write(to: saltURL, options: .atomic)
        var datasets: [URL] = []
        for site in EchoPhantomSite.all {
            let configURL = converters.appendingPathComponent("phantom-echo-\(site.name).yaml")
            var converter = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
            converter.geometry.size = [size, size]
            converter.privacy.saltFile = saltURL.path
            let conversion = EchoConversion(config: converter, configURL: configURL, inputRoot: exports.appendingPathComponent("site-\(site.name)"),
                                            outputRoot: shards, stateRoot: state, workers: workers, progressMode: progressMode)
            let summary = try conversion.run()
            say(summary.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
            datasets.append(summary.datasetDirectory)
        }
        // How far apart the converted sites are (the premise of weighted experts).
        let shift = try SiteClassifier.measure(datasets: datasets)
        say("\n" + shift.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))

        say("\n== 3/4 incremental training: sites arrive in the order \(EchoPhantomSite.all.map(\.name).joined(separator: ", "))")
        let run = out.appendingPathComponent("run")
        let experiment = IncrementalExperiment(sites: datasets, settings: preset.settings, folder: run, registry: registry)
        experiment.progress = stageProgress
        experiment.log = say
        let evaluation = try experiment.runAndEvaluate()

        say("\n== 4/4 evaluation (from the saved predictions; `medcil evaluate --run \(run.path)` recomputes it)")
        say("\nAfter the last site, pooled over every site's test set:\n")
        say(evaluation.comparisonTable)
        for method in evaluation.methods where method.meanExpertWeights != nil && method.learntExpertWeights == true {
            say("\nMean expert weight of \(method.method) on each site's test samples (rows: test site; columns: expert):")
            say(evaluation.expertWeightTable(method: method.method))
            if let own = evaluation.sitesWhereOwnExpertWeighsMost(method: method.method) {
                say("own expert weighs most on \(own.count) of \(evaluation.sites.count) sites\(own.isEmpty ? "" : ": " + own.joined(separator: ", "))"
                    + " (Bransby et al. 2024 expect all; an expert that knows every class of another site can win that site)")
            }
        }
        say("\nreport: \(run.appendingPathComponent("report.html").path)")
        say(String(format: "experts part finished in %.1f min", Date().timeIntervalSince(started) / 60))
        return evaluation
    }
}

/// The sizes the demo runs at.
public struct DemoPreset {
    public var perView: Int
    public var settings: ExperimentSettings

    /// Sized for about 8 minutes on 2 cores, the site classifier included (the budget is 15): ResNet-18 (CIFAR stem) of width 8 at 64x64.
    public static var quick: DemoPreset {
        var settings = ExperimentSettings()
        settings.classifier = ClassifierSpec(architecture: .resnet18, width: 8, inChannels: 1, inputSize: 64, dropout: 0.1, classes: [])
        let training = TrainingSettings(epochs: 12, batchSize: 32, learningRate: 2e-3, seed: 10)
        settings.base = training
        settings.expert = training
        settings.combined = training
        settings.fineTune = training
        settings.fusion = ScoreFusion.Settings(epochs: 30, batchSize: 64, learningRate: 1e-3, seed: 10)
        settings.featurePasses = 2
        return DemoPreset(perView: 12, settings: settings)
    }

    /// The settings of Bransby et al. 2024 (their table of hyper-parameters: ResNet-18 width 64
    /// at 112x112, Adam 1e-3, batch 64, 200 epochs; fusion 50 epochs on 5 augmented passes).
    public static var full: DemoPreset {
        var settings = ExperimentSettings()
        settings.classifier = ClassifierSpec(architecture: .resnet18, width: 64, inChannels: 1, inputSize: 112, dropout: 0.1, classes: [])
        return DemoPreset(perView: 30, settings: settings)
    }

    public func describe(threads: Int) -> String {
        let s = settings, c = s.classifier
        return """
        medcil demo settings (\(threads) threads):
          data:        4 phantom sites, \(perView) cines per view, converted at \(c.inputSize)x\(c.inputSize)
          classifiers: \(c.architecture.rawValue) width \(c.width), dropout \(c.dropout); Adam lr \(s.base.learningRate), batch \(s.base.batchSize), \
        epochs base \(s.base.epochs) / expert \(s.expert.epochs) / combined \(s.combined.epochs) / fine-tune \(s.fineTune.epochs), best validation epoch kept
          fusion:      \(s.fusion.epochs) epochs, batch \(s.fusion.batchSize), lr \(s.fusion.learningRate), features from \(s.featurePasses) augmented passes
          methods:     \(s.methods.joined(separator: ", "))
        """
    }
}
