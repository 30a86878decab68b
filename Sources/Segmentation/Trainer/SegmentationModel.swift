import ArrayFiles
import Foundation
import NeuralNet
import TensorCore

/// A trained segmentation network as a folder: `model.safetensors` (PyTorch keys: enc0.0.conv.weight,
/// heads.1.out.bn.running_mean, ...), `model.json` (what each head segments, where its labels
/// came from, how it was trained) and, when the run kept exemplars, one memory per selection
/// rule under `exemplars/<rule>/` (images, masks, soft targets of every head; listed by hashed
/// volume identifier and slice).
public struct SegmentationModel {
    /// One head: the structures of its foreground labels 1, 2, ... and the site they were learnt at.
    public struct Head: Codable, Sendable, Equatable {
        public var structures: [String]
        public var site: String
        /// Class weights of its training labels (L_d of later increments uses them).
        public var classWeights: [Double]

        enum CodingKeys: String, CodingKey {
            case structures, site
            case classWeights = "class_weights"
        }
    }

    /// model.json.
    public struct Description: Codable, Sendable, Equatable {
        public var format = "medcil-segmentation-model"
        public var base: Int
        public var dropout: Double
        public var imageSize: [Int]
        public var heads: [Head]
        /// How the last increment was trained (method name), and each earlier one.
        public var history: [String]
        /// Per exemplar memory: what chose it (and, for CoRiSeg, which encoder measured the content distance).
        public var exemplarSelections: [String: String]
        /// Networks (subfolders) that keep segmenting structures this one does not know: the
        /// previous network under `separate` (one network per structure).
        public var companions: [String]
        /// Says which data, method and settings made the model; a rerun with the same reuses it.
        public var fingerprint: String

        enum CodingKeys: String, CodingKey {
            case format, base, dropout, heads, history, companions, fingerprint
            case imageSize = "image_size"
            case exemplarSelections = "exemplar_selections"
        }
    }

    public var network: UNet
    public var description: Description
    public var memories: [String: ExemplarMemory]
    /// The companion networks, loaded.
    public var companions: [SegmentationModel]

    public init(network: UNet, description: Description, memories: [String: ExemplarMemory] = [:], companions: [SegmentationModel] = []) {
        self.network = network
        self.description = description
        self.memories = memories
        self.companions = companions
    }

    /// Every structure the model (with its companions) segments: the network and head that do,
    /// and the label there. A structure of this network's own heads wins over a companion's.
    public func segmenter(of structure: String) -> (network: UNet, head: Int, label: Int)? {
        if let (head, label) = head(of: structure) { return (network, head, label) }
        for companion in companions { if let found = companion.segmenter(of: structure) { return found } }
        return nil
    }

    /// Structures in head order (companions' first, as they were learnt earlier), each once.
    public var structures: [String] {
        var out: [String] = []
        for s in companions.flatMap(\.structures) + description.heads.flatMap(\.structures) where !out.contains(s) { out.append(s) }
        return out
    }

    /// A fresh network for `heads` (classes per head), seeded.
    public static func fresh(base: Int, dropout: Double, classes: [Int], seed: UInt64) -> UNet {
        NeuralNetRandom.seed(seed)
        return UNet(inChannels: 1, base: base, heads: classes, dropout: dropout)
    }

    /// The head that segments `structure`, and its label there.
    public func head(of structure: String) -> (head: Int, label: Int)? {
        for (h, head) in description.heads.enumerated().reversed() {
            if let k = head.structures.firstIndex(of: structure) { return (h, k + 1) }
        }
        return nil
    }

    public static let weightsFile = "model.safetensors"
    public static let descriptionFile = "model.json"

    /// Writes the folder; each file atomically, model.json last (its presence marks a complete model).
    public func save(to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        for (rule, memory) in memories { try memory.save(to: folder.appendingPathComponent("exemplars").appendingPathComponent(rule)) }
        try Checkpoint.save(network, to: folder.appendingPathComponent(Self.weightsFile), metadata: ["format": description.format])
        for (name, companion) in zip(description.companions, companions) { try companion.save(to: folder.appendingPathComponent(name)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(description), to: folder.appendingPathComponent(Self.descriptionFile))
    }

    public static func exists(at folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(descriptionFile).path)
    }

    /// Reads a folder `save` wrote; the weights must match the described network exactly.
    public static func load(from folder: URL) throws -> SegmentationModel {
        let url = folder.appendingPathComponent(descriptionFile)
        let description: Description
        do { description = try JSONDecoder().decode(Description.self, from: Data(contentsOf: url)) } catch {
            throw SegmentationError.invalid("\(url.path): not a MedCIL segmentation model (\(error))")
        }
        guard description.format == "medcil-segmentation-model", !description.heads.isEmpty else {
            throw SegmentationError.invalid("\(url.path): format \(description.format) with \(description.heads.count) heads is not a segmentation model")
        }
        let network = UNet(inChannels: 1, base: description.base, heads: description.heads.map { $0.structures.count + 1 },
                           dropout: description.dropout)
        do { _ = try Checkpoint.load(network, from: folder.appendingPathComponent(weightsFile)) } catch {
            throw SegmentationError.invalid("\(folder.appendingPathComponent(weightsFile).path): \(error)")
        }
        network.eval()
        var memories: [String: ExemplarMemory] = [:]
        for rule in description.exemplarSelections.keys {
            memories[rule] = try ExemplarMemory.load(from: folder.appendingPathComponent("exemplars").appendingPathComponent(rule))
        }
        let companions = try description.companions.map { try load(from: folder.appendingPathComponent($0)) }
        return SegmentationModel(network: network, description: description, memories: memories, companions: companions)
    }
}
