import ArrayFiles
import DataLoading
import Foundation
import Support

/// A feature export split across machines: part I of N runs the experts over a contiguous
/// range of the export's batches (every pass's batches in order, split into N runs of about
/// equal length) and writes them to `<out>/parts/part-I-of-N/`; the merge concatenates the
/// parts into exactly the files one export writes. Each batch holds the same samples, the
/// same augmentation (seeded per sample and pass) and goes through the same forward pass as
/// in a whole export, so the merged arrays are the same bytes.
public struct FeaturePart: Codable, Sendable {
    public var part: WorkPart
    /// The batches (counted over all passes) this part ran, `first..<end`.
    public var firstBatch: Int
    public var endBatch: Int
    /// Index of this part's first sample in the whole export.
    public var firstSample: Int
    /// The whole export's description (its count is the whole export's).
    public var set: FeatureSet
    /// The command that ran this part (its rerun command).
    public var command: [String]

    public static let file = "part.json"
    public static let partsFolder = "parts"

    static func folder(_ out: URL, _ part: WorkPart) -> URL {
        out.appendingPathComponent(partsFolder).appendingPathComponent(part.fileStem)
    }

    /// Batches `first..<end` of `total` for part `part`.
    static func range(total: Int, part: WorkPart) -> Range<Int> {
        (total * (part.index - 1) / part.count)..<(total * part.index / part.count)
    }
}

extension FeatureExporter {
    /// Runs part `part` of the export `export(source:passes:augmentation:seed:to:)` would do,
    /// into `<folder>/parts/part-I-of-N/`. A part whose folder is complete is not run again.
    public func exportPart(source: ShardDataset, passes: Int, augmentation: Augmentation?, seed: UInt64, part: WorkPart,
                           to folder: URL, command: [String], progress: (Int, Int) -> Void = { _, _ in }) throws -> FeaturePart {
        let expertInfo = try expertInfo()
        let description = source.description
        let loader = DataLoader(source: source, batchSize: batchSize, shuffle: false, seed: seed, augmentation: augmentation)
        let perPass = loader.batchCount
        let range = FeaturePart.range(total: passes * perPass, part: part)
        let partFolder = FeaturePart.folder(folder, part)
        let augmented = augmentation.map { !$0.isIdentity } ?? false
        let set = FeatureSet(experts: expertInfo, site: description.site, split: source.split, count: passes * source.count, passes: passes,
                             classes: description.classes, seed: seed, augmented: augmented)
        // Samples before this part's first batch: whole passes, then whole batches of its pass.
        let firstSample = (range.lowerBound / perPass) * source.count + (range.lowerBound % perPass) * batchSize
        let record = FeaturePart(part: part, firstBatch: range.lowerBound, endBatch: range.upperBound, firstSample: firstSample,
                                 set: set, command: command)
        if let done = try? JSONDecoder().decode(FeaturePart.self, from: Data(contentsOf: partFolder.appendingPathComponent(FeaturePart.file))),
           done.firstBatch == record.firstBatch, done.endBatch == record.endBatch, done.set.experts == set.experts,
           done.set.seed == seed, done.set.passes == passes, done.set.count == set.count {
            return done
        }
        try? FileManager.default.removeItem(at: partFolder.appendingPathComponent(FeaturePart.file))
        var computed = [ExpertOutputs](repeating: ExpertOutputs(), count: experts.count)
        var labels: [Int64] = [], ids: [String] = [], passOf: [Int] = []
        var orders: [Int: [Int]] = [:]
        for unit in range {
            let pass = unit / perPass
            let order = orders[pass] ?? loader.order(epoch: pass)
            orders = [pass: order]
            let batch = try loader.batch(unit % perPass, epoch: pass, order: order)
            Self.forward(experts, batch, into: &computed)
            labels += batch.labels.map(Int64.init)
            ids += batch.indices.map { source.sampleID(at: $0) }
            passOf += [Int](repeating: pass, count: batch.labels.count)
            progress(unit - range.lowerBound + 1, range.count)
        }
        try Self.writeArrays(outputs: computed, experts: expertInfo, labels: labels, ids: ids, passOf: passOf, firstIndex: firstSample,
                             site: description.site, split: source.split, to: partFolder)
        // part.json last: its presence says the part is complete.
        try AtomicFile.write(try StableJSON.encode(record), to: partFolder.appendingPathComponent(FeaturePart.file))
        return record
    }

    /// What `mergeParts` found: the export, and whether an earlier merge had already made it.
    public struct MergeResult {
        public let set: FeatureSet
        public let alreadyMerged: Bool
    }

    /// Concatenates the parts in `<folder>/parts/` into `<folder>`'s export files, then removes
    /// the parts. A missing or incomplete part is an error naming it and its rerun command.
    /// Running it again after a merge finished is not an error: the parts are gone but the
    /// export is complete, so it is read back (which checks its arrays) and reported as merged.
    public static func mergeParts(in folder: URL) throws -> MergeResult {
        let partsRoot = folder.appendingPathComponent(FeaturePart.partsFolder)
        if !FileManager.default.fileExists(atPath: partsRoot.path),
           FileManager.default.fileExists(atPath: folder.appendingPathComponent(FeatureSet.descriptionFile).path) {
            return MergeResult(set: try FeatureArrays.load([folder]).description, alreadyMerged: true)
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: partsRoot.path)) ?? []).filter { $0.hasPrefix("part-") }.sorted()
        let found = names.compactMap { try? JSONDecoder().decode(FeaturePart.self, from: Data(contentsOf: partsRoot.appendingPathComponent($0)
            .appendingPathComponent(FeaturePart.file))) }
        guard let first = found.first else {
            throw IncrementalError.invalid("no finished parts in \(partsRoot.path): run `medcil features export ... --shard I/N` for every part first")
        }
        let count = first.part.count
        var parts: [FeaturePart] = []
        var missing: [String] = []
        for index in 1...count {
            let part = try WorkPart(index: index, count: count)
            if let done = found.first(where: { $0.part == part && $0.set.count == first.set.count && $0.set.experts == first.set.experts }) {
                parts.append(done)
            } else {
                missing.append("  part \(part): not finished; rerun: " + rerunCommand(first.command, part: part))
            }
        }
        guard missing.isEmpty else {
            throw IncrementalError.invalid("feature export \(folder.path): \(missing.count) of \(count) parts missing:\n" + missing.joined(separator: "\n"))
        }
        var features: [Float] = [], logits: [Float] = [], nmd: [Float] = [], labels: [Int64] = []
        var rows: [Substring] = []
        for part in parts {
            let partFolder = FeaturePart.folder(folder, part.part)
            features += try NpyArray.read(from: partFolder.appendingPathComponent("features.npy")).floatValues()
            logits += try NpyArray.read(from: partFolder.appendingPathComponent("logits.npy")).floatValues()
            nmd += try NpyArray.read(from: partFolder.appendingPathComponent("nmd.npy")).floatValues()
            labels += try NpyArray.read(from: partFolder.appendingPathComponent("labels.npy")).values(as: Int64.self)
            rows += try String(contentsOf: partFolder.appendingPathComponent("samples.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        }
        let set = first.set, n = labels.count
        guard n == set.count, rows.count == n else {
            throw IncrementalError.invalid("the parts in \(partsRoot.path) hold \(n) samples, the export \(set.count): run the parts again")
        }
        try NpyArray(features, shape: [n, set.experts.count, set.experts.first?.featureDimension ?? 0]).write(to: folder.appendingPathComponent("features.npy"))
        try NpyArray(logits, shape: [n, set.experts.reduce(0) { $0 + $1.classes.count }]).write(to: folder.appendingPathComponent("logits.npy"))
        try NpyArray(nmd, shape: [n, set.experts.reduce(0) { $0 + $1.nmdDimension }]).write(to: folder.appendingPathComponent("nmd.npy"))
        try NpyArray(labels, shape: [n]).write(to: folder.appendingPathComponent("labels.npy"))
        try AtomicFile.write(Data((["index,id,site,split,pass"] + rows.map(String.init)).joined(separator: "\n").appending("\n").utf8),
                             to: folder.appendingPathComponent("samples.csv"))
        try writeDescription(set, to: folder)
        try FileManager.default.removeItem(at: partsRoot)
        return MergeResult(set: set, alreadyMerged: false)
    }

    /// The part's command with its `--shard` value replaced.
    static func rerunCommand(_ command: [String], part: WorkPart) -> String {
        var words = command
        if let k = words.firstIndex(of: "--shard"), k + 1 < words.count { words[k + 1] = part.description }
        if !words.isEmpty { words[0] = "medcil" }
        return words.joined(separator: " ")
    }
}
