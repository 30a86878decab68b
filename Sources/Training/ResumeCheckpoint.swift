import ArrayFiles
import Foundation
import NeuralNet
import TensorCore

/// How far a training loop got: the next epoch to run, the history, the best epoch so far,
/// whether early stopping ended it, and the seconds spent (over all sessions).
public struct TrainingProgress: Codable, Sendable {
    public struct Best: Codable, Sendable {
        public var epoch: Int
        public var score: Double
    }

    public var nextEpoch: Int
    public var history: [EpochRecord]
    public var best: Best?
    public var stopped: Bool
    public var seconds: Double
}

/// The per-epoch checkpoint of a training loop, in a folder of its own: `state-<epoch>.safetensors`
/// (the model's parameters and buffers, the best epoch's, the optimizer state) and `progress.json`
/// (the progress, the dropout streams' positions, which state file is current, and a
/// fingerprint of what was being trained). Each file is written atomically and the progress
/// last, so a kill at any moment leaves the previous epoch's checkpoint whole.
public final class ResumeCheckpoint {
    public let folder: URL
    /// Says what is trained with which settings; a checkpoint with another fingerprint is refused.
    public let fingerprint: String
    private var loaded: SafeTensors?

    public init(folder: URL, fingerprint: String) {
        self.folder = folder
        self.fingerprint = fingerprint
    }

    struct Record: Codable {
        var fingerprint: String
        var state: String
        var progress: TrainingProgress
        /// Positions of the model's dropout streams, in module order.
        var dropoutStreams: [[UInt64]]
    }

    static let progressFile = "progress.json"

    /// Whether a checkpoint is present.
    public var exists: Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent(Self.progressFile).path) }

    /// Restores model, optimizer and dropout streams from the checkpoint, if there is one.
    func load(into model: Module, optimizer: Optimizer) throws -> TrainingProgress? {
        let url = folder.appendingPathComponent(Self.progressFile)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let record: Record
        do { record = try JSONDecoder().decode(Record.self, from: data) } catch {
            throw TrainingError("\(url.path) is not a training checkpoint MedCIL can read: \(error)")
        }
        guard record.fingerprint == fingerprint else {
            throw TrainingError("\(folder.path) holds the checkpoint of another training (other data or settings); "
                                + "remove that folder to start over, or give another output folder")
        }
        let file = try SafeTensors.read(from: folder.appendingPathComponent(record.state))
        try Self.copy(file, prefix: "model.", into: Self.targets(model), what: url.path)
        try optimizer.loadState(SafeTensors(tensors: Self.part(file.tensors, prefix: "optimizer."),
                                            metadata: Self.part(file.metadata, prefix: "optimizer.")))
        let dropouts = Self.dropouts(model)
        guard dropouts.count == record.dropoutStreams.count else {
            throw TrainingError("\(url.path): the model has \(dropouts.count) dropout layers, the checkpoint \(record.dropoutStreams.count)")
        }
        for (layer, stream) in zip(dropouts, record.dropoutStreams) { layer.generator.state = stream }
        loaded = file
        return record.progress
    }

    /// The best epoch's weights of the checkpoint just loaded.
    func bestState() throws -> ModelState? {
        guard let file = loaded, file.tensors.keys.contains(where: { $0.hasPrefix("best.") }) else { return nil }
        let keys = file.tensors.keys.filter { $0.hasPrefix("best.") }.sorted()
        let order = keys.compactMap { Int($0.dropFirst("best.".count)) }.sorted()
        return ModelState(tensors: try order.map { index in
            let entry = file.tensors["best.\(index)"]!
            let tensor = Tensor(shape: entry.shape, dtype: entry.dtype == .F32 ? .float32 : .float64, zeroed: false)
            guard tensor.rawBytes.count == entry.data.count else { throw TrainingError("\(folder.path): best.\(index) is truncated") }
            entry.data.withUnsafeBytes { tensor.rawBytes.copyMemory(from: $0) }
            return tensor
        })
    }

    func save(_ progress: TrainingProgress, model: Module, best: ModelState?, optimizer: Optimizer) throws {
        try AtomicFile.ensureDirectory(folder)
        var file = SafeTensors()
        for (k, tensor) in Self.targets(model).enumerated() { file.tensors["model.\(k)"] = Self.entry(tensor) }
        for (k, tensor) in (best?.tensors ?? []).enumerated() { file.tensors["best.\(k)"] = Self.entry(tensor) }
        let optimizerState = optimizer.stateTensors()
        for (key, entry) in optimizerState.tensors { file.tensors["optimizer.\(key)"] = entry }
        for (key, value) in optimizerState.metadata { file.metadata["optimizer.\(key)"] = value }
        let name = "state-\(progress.nextEpoch).safetensors"
        try file.write(to: folder.appendingPathComponent(name))
        let record = Record(fingerprint: fingerprint, state: name, progress: progress, dropoutStreams: Self.dropouts(model).map(\.generator.state))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(record), to: folder.appendingPathComponent(Self.progressFile))
        // Older states are no longer referenced.
        for old in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        where old.hasPrefix("state-") && old.hasSuffix(".safetensors") && old != name {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(old))
        }
    }

    /// Removes the checkpoint (once the trained model is saved).
    public func remove() throws {
        if FileManager.default.fileExists(atPath: folder.path) { try FileManager.default.removeItem(at: folder) }
    }

    // MARK: - tensors

    static func targets(_ model: Module) -> [Tensor] { model.parameters().map(\.value) + model.namedBuffers().map(\.1.value) }

    static func dropouts(_ model: Module) -> [Dropout] { model.namedModules().compactMap { $0.1 as? Dropout } }

    static func entry(_ tensor: Tensor) -> SafeTensors.Entry {
        SafeTensors.Entry(dtype: tensor.dtype == .float32 ? .F32 : .F64, shape: tensor.shape, data: Data(tensor.rawBytes))
    }

    static func part<V>(_ values: [String: V], prefix: String) -> [String: V] {
        Dictionary(uniqueKeysWithValues: values.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }

    static func copy(_ file: SafeTensors, prefix: String, into targets: [Tensor], what: String) throws {
        for (k, target) in targets.enumerated() {
            guard let entry = file.tensors["\(prefix)\(k)"], entry.shape == target.shape, entry.data.count == target.rawBytes.count else {
                throw TrainingError("\(what): the checkpoint's tensor \(prefix)\(k) does not fit the model")
            }
            entry.data.withUnsafeBytes { target.rawBytes.copyMemory(from: $0) }
        }
    }
}

/// A training problem: what went wrong and where.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
