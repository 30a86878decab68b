import ArrayFiles
import DataLoading
import Foundation
import NeuralNet
import TensorCore

/// What may leave a site: for each of its samples, every expert's pooled features, logits and
/// NMD vector (never images). Written as .npy with a JSON description:
///
///     features.npy  float32 [N, E, D]   penultimate features of each expert
///     logits.npy    float32 [N, sum C_e] each expert's logits, experts in order
///     nmd.npy       float32 [N, E * F]  signature - NMF per expert
///     labels.npy    int64   [N]         canonical class indices
///     samples.csv   index, sample id, site, split, pass
///     features.json experts (name, site, classes, dimensions), site, split, counts
public struct FeatureSet: Codable, Sendable {
    public struct Expert: Codable, Sendable, Equatable {
        public var name: String
        public var site: String
        /// Canonical class names of the expert's outputs.
        public var classes: [String]
        public var featureDimension: Int
        public var nmdDimension: Int
    }

    public var experts: [Expert]
    public var site: String
    public var split: String
    public var count: Int
    /// Augmented passes over the data (Bransby et al. 2024 extract training features 5 times with augmentation).
    public var passes: Int
    /// Canonical class name -> index of the taxonomy the labels use.
    public var classes: [String: Int]
    /// The augmentation stream's seed and whether the passes were augmented: with the same
    /// samples they give the same inputs, so a later export can reuse these experts' columns.
    public var seed: UInt64?
    public var augmented: Bool?

    public static let descriptionFile = "features.json"
}

/// Loaded feature arrays of one or more exported sets (same experts), concatenated.
public struct FeatureArrays: Sendable {
    public var description: FeatureSet
    public var features: [Float]
    public var logits: [Float]
    public var nmd: [Float]
    public var labels: [Int]
    public var sampleIDs: [String]
    public var sites: [String]

    public var count: Int { labels.count }
    public var expertCount: Int { description.experts.count }
    public var featureDimension: Int { description.experts.first?.featureDimension ?? 0 }
    public var logitCount: Int { description.experts.reduce(0) { $0 + $1.classes.count } }
    public var nmdCount: Int { description.experts.reduce(0) { $0 + $1.nmdDimension } }

    public static func load(_ folders: [URL]) throws -> FeatureArrays {
        var result: FeatureArrays?
        for folder in folders {
            let description = try readDescription(FeatureSet.self, file: FeatureSet.descriptionFile, in: folder,
                                                  expected: "a feature export (written by `medcil features export`)")
            let features = try NpyArray.read(from: folder.appendingPathComponent("features.npy")).floatValues()
            let logits = try NpyArray.read(from: folder.appendingPathComponent("logits.npy")).floatValues()
            let nmd = try NpyArray.read(from: folder.appendingPathComponent("nmd.npy")).floatValues()
            let labels = try NpyArray.read(from: folder.appendingPathComponent("labels.npy")).values(as: Int64.self).map { Int($0) }
            let samples = try String(contentsOf: folder.appendingPathComponent("samples.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let part = FeatureArrays(description: description, features: features, logits: logits, nmd: nmd, labels: labels,
                                     sampleIDs: samples.map { $0[1] }, sites: samples.map { $0[2] })
            guard part.features.count == part.count * part.expertCount * part.featureDimension,
                  part.logits.count == part.count * part.logitCount, part.nmd.count == part.count * part.nmdCount else {
                throw IncrementalError.invalid("\(folder.path): array sizes do not match features.json")
            }
            if var merged = result {
                guard merged.description.experts == description.experts else {
                    throw IncrementalError.invalid("\(folder.path) was exported with other experts than \(folders[0].path)")
                }
                merged.features += part.features; merged.logits += part.logits; merged.nmd += part.nmd
                merged.labels += part.labels; merged.sampleIDs += part.sampleIDs; merged.sites += part.sites
                merged.description.count += description.count
                result = merged
            } else {
                result = part
            }
        }
        guard let result else { throw IncrementalError.invalid("no feature folders given") }
        return result
    }

    /// The columns of each expert, in order.
    func perExpert() -> [ExpertOutputs] {
        let n = count, d = featureDimension, experts = description.experts
        var logitOffset = 0, nmdOffset = 0
        return experts.enumerated().map { e, expert in
            var out = ExpertOutputs()
            let c = expert.classes.count, f = expert.nmdDimension
            for i in 0..<n {
                let featureStart: Int = (i * experts.count + e) * d
                let logitStart: Int = i * logitCount + logitOffset
                let nmdStart: Int = i * nmdCount + nmdOffset
                out.features += features[featureStart..<(featureStart + d)]
                out.logits += logits[logitStart..<(logitStart + c)]
                out.nmd += nmd[nmdStart..<(nmdStart + f)]
            }
            logitOffset += c
            nmdOffset += f
            return out
        }
    }
}

/// One expert's outputs over a set of samples: features [N, D], logits [N, C], NMD [N, F].
struct ExpertOutputs {
    var features: [Float] = []
    var logits: [Float] = []
    var nmd: [Float] = []
}

/// Runs every expert over a site's samples and writes a `FeatureSet`.
public struct FeatureExporter {
    public var experts: [(name: String, bundle: ModelBundle, model: Module, nmf: [Float])]
    public var batchSize = 64

    public init(experts: [(name: String, bundle: ModelBundle, model: Module, nmf: [Float])]) { self.experts = experts }

    /// Loads expert folders (model.safetensors, model.json, nmf.npy).
    public static func loadExperts(_ folders: [URL]) throws -> [(name: String, bundle: ModelBundle, model: Module, nmf: [Float])] {
        try folders.map { folder in
            let (bundle, model) = try ModelBundle.load(from: folder)
            let nmfURL = folder.appendingPathComponent(ModelBundle.nmfFile)
            guard FileManager.default.fileExists(atPath: nmfURL.path) else {
                throw IncrementalError.invalid("\(folder.path) has no \(ModelBundle.nmfFile): train it with `medcil train expert` (or `train classifier --nmf`)")
            }
            return (folder.lastPathComponent, bundle, model, try NpyArray.read(from: nmfURL).floatValues())
        }
    }

    /// - Parameters:
    ///   - source: the site's samples (already in the site's normalisation).
    ///   - passes: augmented passes (1 without augmentation).
    ///   - previous: an earlier export of the same samples (same passes, seed and augmentation)
    ///     whose experts are the first of `experts`: their columns are copied and only the
    ///     new experts run (a site adding one expert's features does not recompute the others).
    public func export(source: ShardDataset, passes: Int, augmentation: Augmentation?, seed: UInt64, to folder: URL,
                       reusing previous: URL? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws -> FeatureSet {
        let description = source.description
        let expertInfo = try expertInfo()
        let augmented = augmentation.map { !$0.isIdentity } ?? false
        var outputs: [ExpertOutputs] = []
        var earlier: FeatureArrays?
        if let previous, let arrays = try? FeatureArrays.load([previous]) {
            let set = arrays.description
            let compatible = set.site == description.site && set.split == source.split && set.passes == passes && set.seed == seed
                && set.augmented == augmented && set.count == passes * source.count && set.experts.count <= expertInfo.count
                && Array(expertInfo.prefix(set.experts.count)) == set.experts
            if compatible {
                outputs = arrays.perExpert()
                earlier = arrays
            }
        }
        let fresh = Array(experts.dropFirst(outputs.count))
        var computed = [ExpertOutputs](repeating: ExpertOutputs(), count: fresh.count)
        var labels: [Int64] = [], ids: [String] = [], passOf: [Int] = []
        let loader = DataLoader(source: source, batchSize: batchSize, shuffle: false, seed: seed, augmentation: augmentation)
        if fresh.isEmpty, let earlier {
            labels = earlier.labels.map(Int64.init)
            ids = earlier.sampleIDs
            passOf = (0..<passes).flatMap { [Int](repeating: $0, count: source.count) }
        } else {
            let total = passes * loader.batchCount
            var done = 0
            for pass in 0..<passes {
                try loader.forEachBatch(epoch: pass) { batch in
                    Self.forward(fresh, batch, into: &computed)
                    labels += batch.labels.map(Int64.init)
                    ids += batch.indices.map { source.sampleID(at: $0) }
                    passOf += [Int](repeating: pass, count: batch.labels.count)
                    done += 1
                    progress(done, total)
                }
            }
            if let earlier, earlier.sampleIDs != ids || earlier.labels != labels.map(Int.init) {
                throw IncrementalError.invalid("\(previous!.path) holds other samples than \(description.site) \(source.split) now has: export again without it")
            }
        }
        outputs += computed
        try Self.writeArrays(outputs: outputs, experts: expertInfo, labels: labels, ids: ids, passOf: passOf, firstIndex: 0,
                             site: description.site, split: source.split, to: folder)
        let set = FeatureSet(experts: expertInfo, site: description.site, split: source.split, count: labels.count, passes: passes,
                             classes: description.classes, seed: seed, augmented: augmented)
        try Self.writeDescription(set, to: folder)
        return set
    }

    /// The expert descriptions of this exporter's experts (all must share one feature size).
    func expertInfo() throws -> [FeatureSet.Expert] {
        let info = experts.map { e in
            FeatureSet.Expert(name: e.name, site: e.bundle.sites.joined(separator: "+"), classes: e.bundle.spec.classes,
                              featureDimension: NeuralMeanDiscrepancy.featureDimension(of: e.model), nmdDimension: e.nmf.count)
        }
        guard info.allSatisfy({ $0.featureDimension == info.first?.featureDimension }) else {
            throw IncrementalError.invalid("experts with different feature sizes cannot share a fusion network")
        }
        return info
    }

    /// Every expert over one batch, appended to `outputs` (one entry per expert).
    static func forward(_ experts: [(name: String, bundle: ModelBundle, model: Module, nmf: [Float])], _ batch: Batch,
                        into outputs: inout [ExpertOutputs]) {
        for (k, expert) in experts.enumerated() {
            let (l, f, s) = NeuralMeanDiscrepancy.forward(expert.model, batch.images)
            outputs[k].logits += l.floats()
            outputs[k].features += f.floats()
            let signatures = s.floats(), nmf = expert.nmf
            for i in 0..<signatures.count { outputs[k].nmd.append(signatures[i] - nmf[i % nmf.count]) }
        }
    }

    /// Writes features.npy, logits.npy, nmd.npy, labels.npy and samples.csv, interleaved per
    /// sample: [N, E, D] features, [N, sum C] logits, [N, sum F] NMD. `firstIndex` is the
    /// first sample's index in samples.csv (a part of a sharded export starts further on).
    static func writeArrays(outputs: [ExpertOutputs], experts expertInfo: [FeatureSet.Expert], labels: [Int64], ids: [String], passOf: [Int],
                            firstIndex: Int, site: String, split: String, to folder: URL) throws {
        let count = labels.count
        let featureDimension = expertInfo.first?.featureDimension ?? 0
        var features: [Float] = [], logits: [Float] = [], nmd: [Float] = []
        features.reserveCapacity(count * expertInfo.count * featureDimension)
        for i in 0..<count {
            for o in outputs { features += o.features[(i * featureDimension)..<((i + 1) * featureDimension)] }
            for (o, e) in zip(outputs, expertInfo) { logits += o.logits[(i * e.classes.count)..<((i + 1) * e.classes.count)] }
            for (o, e) in zip(outputs, expertInfo) { nmd += o.nmd[(i * e.nmdDimension)..<((i + 1) * e.nmdDimension)] }
        }
        try AtomicFile.ensureDirectory(folder)
        try NpyArray(features, shape: [count, expertInfo.count, featureDimension]).write(to: folder.appendingPathComponent("features.npy"))
        try NpyArray(logits, shape: [count, expertInfo.reduce(0) { $0 + $1.classes.count }]).write(to: folder.appendingPathComponent("logits.npy"))
        try NpyArray(nmd, shape: [count, expertInfo.reduce(0) { $0 + $1.nmdDimension }]).write(to: folder.appendingPathComponent("nmd.npy"))
        try NpyArray(labels, shape: [count]).write(to: folder.appendingPathComponent("labels.npy"))
        let rows = ["index,id,site,split,pass"] + (0..<count).map { "\(firstIndex + $0),\(ids[$0]),\(site),\(split),\(passOf[$0])" }
        try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("samples.csv"))
    }

    static func writeDescription(_ set: FeatureSet, to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(set), to: folder.appendingPathComponent(FeatureSet.descriptionFile))
    }
}

extension NeuralMeanDiscrepancy {
    /// Length of the pooled feature vector.
    public static func featureDimension(of model: Module) -> Int {
        if let net = model as? ResNet18 { return net.featureDimension }
        if let net = model as? SmallCNN { return net.head.weight.value.shape[1] }
        preconditionFailure("\(type(of: model)) is not a classifier of the model zoo")
    }
}
