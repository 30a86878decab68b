import ClassIncremental
import Console
import Datasets
import Foundation
import Ingest
import Phantoms
import Support

/// The data-free class-incremental part of `medcil demo`: the eight views of phantom site a
/// as four tasks of two views (A2C A3C | A4C A5C | PLAX PSAX-AV | PSAX-MV PSAX-AP, the
/// site's view order), every registered method (CCSI, CI, the baselines), one table. It uses
/// the site-a shards the experts part converted when they are there (<out>/shards), and
/// otherwise exports and converts site a itself. Writes <out>/cil (<out>/cil-full with --full).
public struct CILDemo: DemoPart {
    public static let name = "cil"
    public static let summary = "data-free class-incremental learning (CCSI, Class Impression) on the views of phantom site a"

    public var context: DemoContext

    public init(context: DemoContext) throws { self.context = context }

    /// The sequence the part runs: the 2-core preset (16x16, batch 10, short synthesis) or, with --full,
    /// the reference's settings (`SequenceConfig.applyFull`: 32x32, 100 epochs, 5000 Adam steps, 16/24/30 synthetic batches).
    public static func sequence(full: Bool, workers: Int, classes: Int) -> SequenceConfig {
        var config = SequenceConfig()
        if full {
            config.applyFull()
        } else {
            config.applyQuick()
            config.training.baseEpochs = 12
            config.training.epochs = 8
            // About 50 training images per task: small batches give the steps the net needs.
            config.training.batchSize = 10
        }
        config.classOrder = Array(0..<classes)
        config.taskSizes = [2, 2, 2, 2]
        config.workers = workers
        config.seed = 0
        return config
    }

    public func runPart() throws -> String {
        let started = Date()
        let dataset = try siteAShards()
        let splits = try DatasetSplits.shards(dataset)
        // Canonical labels of site a, in index order: the class order.
        var config = Self.sequence(full: context.full, workers: context.workers, classes: 0)
        config.classOrder = Array(Set(splits.train.labels).sorted().prefix(8))
        guard config.classOrder.count == 8 else { throw DemoError("site a has \(config.classOrder.count) views with training images, the part needs 8") }
        config.dataset = .init(kind: "shards", path: dataset.path)
        context.say(String(format: "cil settings (%d threads): %dx%d inputs, epochs %d (first task %d), synthesis %d Adam steps x %d batches of %d per task",
                           context.workers, config.imageSize, config.imageSize, config.training.epochs, config.training.baseEpochs,
                           config.synthesis.iterations, config.syntheticBatches(task: 1), config.synthesis.batchSize))
        // A rerun continues the same settings' run; the reference settings get their own folder.
        let folder = context.out.appendingPathComponent(context.full ? "cil-full" : "cil")
        let run = SequenceRun(config: config, data: try SequenceData(splits: splits, config: config), out: folder, resume: true)
        run.log = context.say
        let results = try run.run()
        context.say("\n" + results.table + "\n\n" + SequenceResults.definitions)
        context.say("report: \(folder.appendingPathComponent("report.html").path)")
        context.say(String(format: "cil part finished in %.1f min", Date().timeIntervalSince(started) / 60))
        return results.table
    }

    /// This part's own conversion of phantom site a (in `cil-data/`, never the experts part's
    /// shards, whose size and cines per view differ), so that `medcil demo cil` alone and
    /// within `medcil demo` give the same table. A rerun reuses the conversion.
    func siteAShards() throws -> URL {
        let data = context.out.appendingPathComponent("cil-data")
        let shards = data.appendingPathComponent("shards")
        guard let site = EchoPhantomSite.named("a") else { throw DemoError("phantom site a is not defined") }
        let exports = data.appendingPathComponent("exports")
        let perView = context.perView ?? (context.full ? 30 : 12)
        context.say("== phantom site a (\(perView) cines per view, seed \(context.seed)) -> \(exports.path)")
        _ = try EchoPhantomExporter.export(site: site, to: exports, perView: perView, seed: context.seed, faults: true,
                                           workers: context.workers, progress: context.progressMode)
        // Phantoms identify no one: a fixed salt from the seed keeps ids (and every number) the same on every machine.
        let state = data.appendingPathComponent("state")
        let saltURL = state.appendingPathComponent("demo-salt")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data(SHA256.hash(Array("medcil demo phantoms, seed \(context.seed)".utf8))).write(to: saltURL, options: .atomic)
        let configURL = context.converters.appendingPathComponent("phantom-echo-a.yaml")
        var converter = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
        converter.geometry.size = [64, 64]
        converter.privacy.saltFile = saltURL.path
        let conversion = EchoConversion(config: converter, configURL: configURL, inputRoot: exports.appendingPathComponent("site-a"),
                                        outputRoot: shards, stateRoot: state, workers: context.workers, progressMode: context.progressMode)
        let summary = try conversion.run()
        return summary.datasetDirectory
    }
}
