import ArgumentParser
import Console
import DataLoading
import Foundation
import Incremental
import Support
import TensorCore

/// `medcil features`: what may leave a site.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export per-expert features, logits and NMD vectors of a site's samples (never images).",
        subcommands: [FeaturesExport.self, FeaturesMerge.self]
    )
}

/// `medcil features export --experts E1 E2 ... --shards SITE --split train --out DIR`
struct FeaturesExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Run every expert over one split of a site's shards and write features.npy, logits.npy, nmd.npy, labels.npy, samples.csv, features.json.",
        discussion: "Run at the site that holds the images; only the output folder leaves it. Experts must list the same order at every site."
    )

    @Option(parsing: .upToNextOption, help: "Expert folders (model.safetensors, model.json, nmf.npy), in the fusion's order.")
    var experts: [String]

    @Option(help: "The site's converted dataset folder.")
    var shards: String

    @Option(help: "Split: train, val or test.")
    var split: String = "train"

    @Option(help: "Augmented passes over the split (the seed uses 5 for training features; 1 = no augmentation).")
    var passes: Int = 1

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Seed of the augmentation.")
    var seed: UInt64 = 10

    @Option(help: "An earlier export of the same split (same passes and seed) whose experts come first in --experts: their columns are reused and only the new experts run.")
    var reuse: String?

    @Option(help: ArgumentHelp("Run part I of N of the export (1-based) into <out>/parts/; `medcil features merge --out` combines the parts into the same files one export writes.", valueName: "I/N"))
    var shard: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard ["train", "val", "test"].contains(split) else { throw ValidationError("--split must be train, val or test") }
        guard passes >= 1 else { throw ValidationError("--passes must be at least 1") }
        if let shard {
            do { _ = try WorkPart(parsing: shard) } catch let error as ConfigError { throw ValidationError("--shard: \(error.message)") }
            if reuse != nil { throw ValidationError("--reuse and --shard do not go together: export the parts in full") }
        }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        let loaded = try FeatureExporter.loadExperts(experts.map { URL(fileURLWithPath: $0) })
        let source = try ShardDataset(folder: URL(fileURLWithPath: shards), split: split)
        let reporter = ProgressReporter(label: "export \(source.description.site) \(split)\(shard.map { " part " + $0 } ?? "")", total: 1,
                                        unit: "batches", mode: shared.progress.mode)
        if let shard {
            let part = try FeatureExporter(experts: loaded).exportPart(
                source: source, passes: passes, augmentation: passes > 1 ? .echoViews : nil, seed: seed, part: try WorkPart(parsing: shard),
                to: URL(fileURLWithPath: out), command: CommandLine.arguments) { done, total in
                reporter.setTotal(total)
                reporter.advance()
            }
            reporter.finish()
            print("exported part \(part.part): batches \(part.firstBatch)..<\(part.endBatch) of the export's \(part.set.count) samples " +
                  "to \(out)/\(FeaturePart.partsFolder); when every part is done: medcil features merge --out \(out)")
            return
        }
        let set = try FeatureExporter(experts: loaded).export(source: source, passes: passes, augmentation: passes > 1 ? .echoViews : nil,
                                                              seed: seed, to: URL(fileURLWithPath: out),
                                                              reusing: reuse.map { URL(fileURLWithPath: $0) }) { done, total in
            reporter.setTotal(total)
            reporter.advance()
        }
        reporter.finish()
        print("exported \(set.count) samples x \(set.experts.count) experts (features \(set.experts.first?.featureDimension ?? 0), NMD \(set.experts.reduce(0) { $0 + $1.nmdDimension })) to \(out)")
    }
}

/// `medcil features merge --out DIR`: the parts of a sharded export into one export.
struct FeaturesMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the parts of `medcil features export --shard I/N` (in <out>/parts/) into the files one export writes.",
        discussion: "A missing part is an error that names it and its rerun command. The parts folder is removed once merged; running merge again on a merged export reads it back and says so."
    )

    @Option(help: "The export's output folder (the parts are in <out>/parts/).")
    var out: String

    func run() throws {
        let merged = try FeatureExporter.mergeParts(in: URL(fileURLWithPath: out))
        let set = merged.set
        print("\(merged.alreadyMerged ? "already merged:" : "merged") \(set.count) samples x \(set.experts.count) experts into \(out)")
    }
}
