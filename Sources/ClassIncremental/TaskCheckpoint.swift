import ArrayFiles
import Foundation
import NeuralNet

/// What a sequence keeps of each finished task, in `<out>/<method>/task-<t>/`:
/// `model.safetensors` (PyTorch keys), `cn_group_statistics.safetensors` (CCSI's per-sample
/// group statistics, Continual Normalization only), `class_means.npy` (the synthesis's starting images,
/// stored with the model), `exemplars.npy` + `exemplar_labels.npy` (iCaRL), and `task.json`
/// (the evaluation and timings), written last: a task is finished when its task.json exists.
public struct TaskRecord: Codable, Sendable, Equatable {
    public var method: String
    public var task: Int
    /// Accuracy on each learnt task's test images (R[t][j], j <= t).
    public var taskAccuracy: [Double]
    /// Accuracy on the test images of each class seen so far.
    public var classAccuracy: [Double]
    /// A_t: accuracy on the pooled test images of every class seen so far.
    public var pooledAccuracy: Double
    public var synthesisSeconds: Double
    public var updateSeconds: Double
    public var syntheticImages: Int
    public var memoryImages: Int

    enum CodingKeys: String, CodingKey {
        case method, task
        case taskAccuracy = "task_accuracy", classAccuracy = "class_accuracy", pooledAccuracy = "pooled_accuracy"
        case synthesisSeconds = "synthesis_seconds", updateSeconds = "update_seconds"
        case syntheticImages = "synthetic_images", memoryImages = "memory_images"
    }
}

public enum TaskCheckpoint {
    public static func folder(_ out: URL, method: String, task: Int) -> URL {
        out.appendingPathComponent(method).appendingPathComponent("task-\(task + 1)")
    }

    public static func save(_ outcome: TaskOutcome, record: TaskRecord, imageShape: [Int], to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        try Checkpoint.save(outcome.model.net, to: folder.appendingPathComponent("model.safetensors"),
                            metadata: ["method": record.method, "task": "\(record.task + 1)", "classes": "\(outcome.model.classes)",
                                       "norm": outcome.model.norm.rawValue, "backbone": "\(outcome.model.backbone)"])
        if let statistics = outcome.model.groupStatistics {
            try statistics.write(to: folder.appendingPathComponent(GroupStatistics.fileName))
        }
        if let means = outcome.memory.classMeans {
            try NpyArray(means, shape: [means.count / imageShape.reduce(1, *)] + imageShape).write(to: folder.appendingPathComponent("class_means.npy"))
        }
        if let exemplars = outcome.memory.exemplars {
            try NpyArray(exemplars.pixels, shape: [exemplars.count] + imageShape).write(to: folder.appendingPathComponent("exemplars.npy"))
            try NpyArray(exemplars.labels.map { Int64($0) }, shape: [exemplars.count]).write(to: folder.appendingPathComponent("exemplar_labels.npy"))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(record), to: folder.appendingPathComponent("task.json"))
    }

    /// The finished task's record, or nil when the task did not finish.
    public static func record(in folder: URL) throws -> TaskRecord? {
        let url = folder.appendingPathComponent("task.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(TaskRecord.self, from: data) } catch {
            throw CILError("\(url.path): unreadable task record (\(error)); delete the folder to redo the task")
        }
    }

    /// The model and memory saved in `folder` for a net of `taskSizes`.
    public static func load(from folder: URL, norm: NormKind, imageShape: [Int], taskSizes: [Int],
                            backbone: Backbone = .predictor) throws -> (IncrementalNet, MethodMemory) {
        let model = IncrementalNet(inChannels: imageShape[0], imageSize: imageShape[1], taskSizes: taskSizes, norm: norm, backbone: backbone)
        try Checkpoint.load(model.net, from: folder.appendingPathComponent("model.safetensors"))
        model.net.eval()
        let statistics = folder.appendingPathComponent(GroupStatistics.fileName)
        if FileManager.default.fileExists(atPath: statistics.path) { model.groupStatistics = try GroupStatistics.read(from: statistics) }
        var memory = MethodMemory()
        let means = folder.appendingPathComponent("class_means.npy")
        if FileManager.default.fileExists(atPath: means.path) { memory.classMeans = try NpyArray.read(from: means).floatValues() }
        let exemplars = folder.appendingPathComponent("exemplars.npy")
        if FileManager.default.fileExists(atPath: exemplars.path) {
            let labels = try NpyArray.read(from: folder.appendingPathComponent("exemplar_labels.npy")).values(as: Int64.self).map { Int($0) }
            memory.exemplars = ImageSet(pixels: try NpyArray.read(from: exemplars).floatValues(), labels: labels, shape: imageShape)
        }
        return (model, memory)
    }
}
