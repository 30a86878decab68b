import ArgumentParser
import Console
import Foundation
import Incremental
import Ingest
import Phantoms
import Support
import TensorCore

/// `medcil demo`: the main job on bundled phantom data.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The main job on bundled phantom data: four sites' echo exports, their conversion, weighted experts against Combine & Retrain and fine-tuning, a report.",
        discussion: """
        Writes phantom echo exports of four sites (DICOM through DCMTK, broken files among them), converts each \
        with its converter in converters/, then runs the multi-site class-incremental comparison of \
        `medcil experiment run` with the sites arriving in the order a, b, c, d: a base classifier on site a, an \
        expert per later site, the score-fusion networks (sf, nmd-wsf, attn-wsf) on exported features, the \
        untrained fusions (max-logit, max-softmax, routing), Combine & Retrain and fine-tuning at the same settings. \
        Prints one comparison table and writes report.html, metrics.json and everything else under --out.

        The default settings are scaled to finish in about 4 minutes on 2 cores, well inside 15 (printed at the start); --full runs \
        the seed's (ResNet-18 width 64 at 112x112, 200 epochs), which takes days on a CPU. --config overrides single \
        keys of the experiment settings (the YAML keys of `medcil experiment run --config`).
        """
    )

    @Option(help: "Output folder.")
    var out: String = "medcil-demo"

    @Option(help: "Folder with the site converters.")
    var converters: String = "converters"

    @Flag(help: "The seed's settings instead of the 2-core ones.")
    var full = false

    @Option(help: "Phantom cines per view and site (default 12; 30 with --full).")
    var perView: Int?

    @Option(help: "Seed for the phantom data.")
    var seed: UInt64 = 7

    @Option(help: "Experiment settings (YAML) over the demo's.")
    var config: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        if let perView, perView < 6 {
            throw ValidationError("--per-view must be at least 6 (train, val and test each need patients of every view)")
        }
        guard FileManager.default.fileExists(atPath: converters) else {
            throw ValidationError("converter folder '\(converters)' not found: run from the repository root or pass --converters")
        }
        if let config, !FileManager.default.fileExists(atPath: config) { throw ValidationError("--config \(config) not found") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        let root = URL(fileURLWithPath: out)
        let exports = root.appendingPathComponent("exports"), shards = root.appendingPathComponent("shards")
        let started = Date()
        var preset = full ? DemoPreset.full : DemoPreset.quick
        if let perView { preset.perView = perView }
        if let config { preset.settings = try ConfigLoader.load(ExperimentSettings.self, from: URL(fileURLWithPath: config), over: preset.settings) }
        let size = preset.settings.classifier.inputSize
        print(preset.describe(threads: Parallel.threads))

        print("\n== 1/4 phantom exports (\(preset.perView) cines per view, seed \(seed)) -> \(exports.path)")
        for site in EchoPhantomSite.all {
            let summary = try EchoPhantomExporter.export(site: site, to: exports, perView: preset.perView, seed: seed, faults: true,
                                                         workers: shared.workerCount, progress: shared.progress.mode)
            print("   site \(site.name): \(summary.files) cines + \(summary.faults.count) unusable files  (\(site.summary))")
        }

        print("\n== 2/4 conversion at \(size)x\(size) -> \(shards.path)")
        // Phantoms identify no one, so the demo's identifier salt is fixed (derived from the
        // seed) instead of random: sample ids, and with them loading order and every number of
        // the run, are then the same on every machine. It sits in the demo's own state folder
        // under its own name and is passed explicitly, so that no later conversion takes it
        // for a default salt (those are random, one per output folder).
        let state = root.appendingPathComponent("state")
        let saltURL = state.appendingPathComponent("demo-salt")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data(SHA256.hash(Array("medcil demo phantoms, seed \(seed)".utf8))).write(to: saltURL, options: .atomic)
        var datasets: [URL] = []
        for site in EchoPhantomSite.all {
            let configURL = URL(fileURLWithPath: converters).appendingPathComponent("phantom-echo-\(site.name).yaml")
            var converter = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
            converter.geometry.size = [size, size]
            converter.privacy.saltFile = saltURL.path
            let conversion = EchoConversion(config: converter, configURL: configURL, inputRoot: exports.appendingPathComponent("site-\(site.name)"),
                                            outputRoot: shards, stateRoot: state, workers: shared.workerCount, progressMode: shared.progress.mode)
            let summary = try conversion.run()
            print(summary.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
            datasets.append(summary.datasetDirectory)
        }
        // How far apart the converted sites are (the premise of weighted experts).
        let shift = try SiteClassifier.measure(datasets: datasets)
        print("\n" + shift.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))

        print("\n== 3/4 incremental training: sites arrive in the order \(EchoPhantomSite.all.map(\.name).joined(separator: ", "))")
        let run = root.appendingPathComponent("run")
        let evaluation = try runExperiment(sites: datasets, settings: preset.settings, folder: run, progress: shared.progress.mode)

        print("\n== 4/4 evaluation (from the saved predictions; `medcil evaluate --run \(run.path)` recomputes it)")
        print("\nAfter the last site, pooled over every site's test set:\n")
        print(evaluation.comparisonTable)
        for method in evaluation.methods where method.meanExpertWeights != nil && FusionMethod(rawValue: method.method)?.isTrained == true {
            print("\nMean expert weight of \(method.method) on each site's test samples (rows: test site; columns: expert):")
            print(evaluation.expertWeightTable(method: method.method))
            if let own = evaluation.sitesWhereOwnExpertWeighsMost(method: method.method) {
                print("own expert weighs most on \(own.count) of \(evaluation.sites.count) sites\(own.isEmpty ? "" : ": " + own.joined(separator: ", "))"
                      + " (the seed expects all; an expert that knows every class of another site can win that site)")
            }
        }
        print("\nreport: \(run.appendingPathComponent("report.html").path)")
        print(String(format: "demo finished in %.1f min", Date().timeIntervalSince(started) / 60))
    }
}

/// The sizes the demo runs at.
struct DemoPreset {
    var perView: Int
    var settings: ExperimentSettings

    /// Sized for about 4 minutes on 2 cores (the budget is 15): ResNet-18 (CIFAR stem) of width 8 at 64x64.
    static var quick: DemoPreset {
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

    /// The seed's settings (its Table of hyper-parameters: ResNet-18 width 64 at 112x112, Adam
    /// 1e-3, batch 64, 200 epochs; fusion 50 epochs on 5 augmented passes).
    static var full: DemoPreset {
        var settings = ExperimentSettings()
        settings.classifier = ClassifierSpec(architecture: .resnet18, width: 64, inChannels: 1, inputSize: 112, dropout: 0.1, classes: [])
        return DemoPreset(perView: 30, settings: settings)
    }

    func describe(threads: Int) -> String {
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
