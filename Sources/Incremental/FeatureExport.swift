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
    /// Augmented passes over the data (the seed extracts training features 5 times with augmentation).
    public var passes: Int
    /// Canonical class name -> index of the taxonomy the labels use.
    public var classes: [String: Int]

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
            let description = try JSONDecoder().decode(FeatureSet.self, from: Data(contentsOf: folder.appendingPathComponent(FeatureSet.descriptionFile)))
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
    public func export(source: ShardDataset, passes: Int, augmentation: Augmentation?, seed: UInt64, to folder: URL,
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> FeatureSet {
        var features: [Float] = [], logits: [Float] = [], nmd: [Float] = [], labels: [Int64] = []
        var rows: [String] = ["index,id,site,split,pass"]
        let description = source.description
        let loader = DataLoader(source: source, batchSize: batchSize, shuffle: false, seed: seed, augmentation: augmentation)
        let total = passes * loader.batchCount
        var done = 0
        for pass in 0..<passes {
            try loader.forEachBatch(epoch: pass) { batch in
                let n = batch.labels.count
                // Per expert: logits [n, C], features [n, D], signatures [n, F] as flat arrays.
                let outputs = experts.map { expert -> ([Float], [Float], [Float]) in
                    let (l, f, s) = NeuralMeanDiscrepancy.forward(expert.model, batch.images)
                    return (l.floats(), f.floats(), s.floats())
                }
                for i in 0..<n {
                    for (_, f, _) in outputs {
                        let d = f.count / n
                        features += f[(i * d)..<((i + 1) * d)]
                    }
                    for (l, _, _) in outputs {
                        let c = l.count / n
                        logits += l[(i * c)..<((i + 1) * c)]
                    }
                    for (k, (_, _, s)) in outputs.enumerated() {
                        let d = s.count / n
                        nmd += zip(s[(i * d)..<((i + 1) * d)], experts[k].nmf).map { $0 - $1 }
                    }
                    labels.append(Int64(batch.labels[i]))
                    rows.append("\(rows.count - 1),\(source.sampleID(at: batch.indices[i])),\(description.site),\(source.split),\(pass)")
                }
                done += 1
                progress(done, total)
            }
        }
        let count = labels.count
        let expertInfo = self.experts.map { e in
            FeatureSet.Expert(name: e.name, site: e.bundle.sites.joined(separator: "+"), classes: e.bundle.spec.classes,
                              featureDimension: NeuralMeanDiscrepancy.featureDimension(of: e.model), nmdDimension: e.nmf.count)
        }
        let featureDimension = expertInfo.first?.featureDimension ?? 0
        guard expertInfo.allSatisfy({ $0.featureDimension == featureDimension }) else {
            throw IncrementalError.invalid("experts with different feature sizes cannot share a fusion network")
        }
        try AtomicFile.ensureDirectory(folder)
        try NpyArray(features, shape: [count, expertInfo.count, featureDimension]).write(to: folder.appendingPathComponent("features.npy"))
        try NpyArray(logits, shape: [count, expertInfo.reduce(0) { $0 + $1.classes.count }]).write(to: folder.appendingPathComponent("logits.npy"))
        try NpyArray(nmd, shape: [count, expertInfo.reduce(0) { $0 + $1.nmdDimension }]).write(to: folder.appendingPathComponent("nmd.npy"))
        try NpyArray(labels, shape: [count]).write(to: folder.appendingPathComponent("labels.npy"))
        try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("samples.csv"))
        let set = FeatureSet(experts: expertInfo, site: description.site, split: source.split, count: count, passes: passes, classes: description.classes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(set), to: folder.appendingPathComponent(FeatureSet.descriptionFile))
        return set
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
