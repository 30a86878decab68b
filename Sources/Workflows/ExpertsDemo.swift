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
/// multi-site class-incremental comparison of the preset's methods with the sites arriving in
/// the order a, b, c, d, over several sample orders (the conversion and the site classifier
/// run once), and the table of every method as mean ± sd over the orders. Writes into the
/// demo's root folder: exports/, shards/, state/, run/order-<k>/ (each order's run and
/// report) and experts-summary.md/.csv/.json.
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
        if let orders = context.orders { preset.orders = orders }
        if let config = context.experimentConfig {
            preset.settings = try ConfigLoader.load(ExperimentSettings.self, from: config, over: preset.settings)
        }
        self.init(out: context.out, converters: context.converters, preset: preset, seed: context.seed,
                  workers: context.workers, progressMode: context.progressMode)
        stageProgress = context.stageProgress
        say = context.say
    }

    public func runPart() throws -> String {
        try run().markdown
    }

    /// The summary's base name in the demo's root folder.
    public static let summaryName = "experts-summary"

    @discardableResult
    public func run() throws -> OrderSummary {
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

        var evaluations: [RunEvaluation] = []
        for order in 1...max(preset.orders, 1) {
            let run = out.appendingPathComponent("run/order-\(order)")
            say("\n== 3/4 incremental training, sample order \(order) of \(preset.orders) (training seeds +\(1000 * (order - 1))): "
                + "sites arrive in the order \(EchoPhantomSite.all.map(\.name).joined(separator: ", "))")
            let experiment = IncrementalExperiment(sites: datasets, settings: preset.settings.sampleOrder(order), folder: run, registry: registry)
            experiment.progress = stageProgress
            experiment.log = say
            let evaluation = try experiment.runAndEvaluate()
            say("\nSample order \(order), after the last site, pooled over every site's test set "
                + "(`medcil evaluate --run \(run.path)` recomputes it; report: \(run.appendingPathComponent("report.html").path)):\n")
            say(evaluation.comparisonTable)
            for method in evaluation.methods where method.meanExpertWeights != nil && method.learntExpertWeights == true {
                say("\nMean expert weight of \(method.method) on each site's test samples (rows: test site; columns: expert):")
                say(evaluation.expertWeightTable(method: method.method))
                if let own = evaluation.sitesWhereOwnExpertWeighsMost(method: method.method) {
                    say("own expert weighs most on \(own.count) of \(evaluation.sites.count) sites\(own.isEmpty ? "" : ": " + own.joined(separator: ", "))")
                }
            }
            evaluations.append(evaluation)
        }

        let summary = OrderSummary(evaluations)
        try summary.write(to: out, name: Self.summaryName)
        say("\n== 4/4 every method over \(summary.orders) sample orders (mean ± sd, then each order; "
            + "Bransby et al. 2024 expect each site's own expert to weigh most there):\n")
        say(summary.markdown)
        say("\nsummary: \(out.appendingPathComponent(Self.summaryName + ".md").path) (.csv, .json)")
        say(String(format: "experts part finished in %.1f min", Date().timeIntervalSince(started) / 60))
        return summary
    }
}

/// The sizes the demo runs at.
public struct DemoPreset {
    public var perView: Int
    public var settings: ExperimentSettings
    /// Sample orders the experiment runs over (results as mean ± sd).
    public var orders = 3

    /// Sized for the experts part's share of the demo (7 of 15 minutes on an idle 2-core
    /// machine) with 3 sample orders, conversion and site classifier included: ResNet-18 (CIFAR
    /// stem) of width 8 at 40x40, 10 cines per view, 10 epochs. The methods are Bransby et al.
    /// 2024's (the fusions, Combine & Retrain, fine-tuning with per-class heads); MedCIL's
    /// full-head fine-tuning variant is left out for time (`--config` can add it).
    public static var quick: DemoPreset {
        var settings = ExperimentSettings()
        settings.classifier = ClassifierSpec(architecture: .resnet18, width: 8, inChannels: 1, inputSize: 40, dropout: 0.1, classes: [])
        let training = TrainingSettings(epochs: 10, batchSize: 32, learningRate: 2e-3, seed: 10)
        settings.base = training
        settings.expert = training
        settings.combined = training
        settings.fineTune = training
        settings.fusion = ScoreFusion.Settings(epochs: 30, batchSize: 64, learningRate: 1e-3, seed: 10)
        settings.featurePasses = 2
        settings.methods = MethodRegistry.builtIn.names.filter { $0 != FullHeadFineTuning.entry.name }
        return DemoPreset(perView: 10, settings: settings)
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
          repeats:     \(orders) sample orders (training seeds +0, +1000, ...); conversion and site classifier once
        """
    }
}
