import ArrayFiles
import Foundation
import NeuralNet
import Support
import TensorCore

/// `medcil cil synthesize`: the class impressions of a saved task model, `perClass` per class,
/// written as `ImpressionGrids` (what the model remembers of each class).
public enum ImpressionExport {
    @discardableResult
    public static func write(taskFolder: URL, config: SequenceConfig, perClass: Int, out: URL, workers: Int) throws -> Int {
        guard let record = try TaskCheckpoint.record(in: taskFolder) else {
            throw CILError("\(taskFolder.path): no finished task here (task.json missing); give <run>/<method>/task-<t>")
        }
        let method = try MethodRegistry.builtIn.method(named: record.method)
        let sizes = Array(config.taskSizes[0...record.task])
        let classes = sizes.reduce(0, +)
        let imageShape = try modelInputShape(taskFolder)
        let (_, memory) = try TaskCheckpoint.load(from: taskFolder, norm: method.norm, imageShape: imageShape, taskSizes: sizes, backbone: config.backboneChoice)
        guard let means = memory.classMeans, means.count == classes * imageShape.reduce(1, *) else {
            throw CILError("\(taskFolder.path): no class means stored with this model (only ccsi and ci keep them)")
        }
        var settings = config.synthesis
        settings.batchSize = perClass
        let synthesis = ImpressionSynthesis(settings: settings, tvL2: config.tvL2(task: max(record.task, 1)))
        let copy = { try TaskCheckpoint.load(from: taskFolder, norm: method.norm, imageShape: imageShape, taskSizes: sizes, backbone: config.backboneChoice).0 }
        // One batch per class, all of that class.
        var images = ImageSet.empty(shape: imageShape)
        let models = try (0..<classes).map { _ in try copy() }
        let kernelThreads = workers > 1 ? 1 : Parallel.threads
        let batches = parallelMap(classes, workers: workers) { c in
            Parallel.withThreads(kernelThreads) {
                synthesis.synthesize(model: models[c], labels: [Int](repeating: c, count: perClass), classMeans: means, imageShape: imageShape,
                                     seed: config.seed &+ UInt64(c) &* 104_729).images
            }
        }
        for (c, pixels) in batches.enumerated() { images = images + ImageSet(pixels: pixels, labels: [Int](repeating: c, count: perClass), shape: imageShape) }
        try ImpressionGrids.write(images, classMeans: means, classes: (0..<classes).map { "class \($0)" }, to: out)
        return images.count
    }

    /// [C, H, W] of the model's input, from the class means' .npy header.
    static func modelInputShape(_ folder: URL) throws -> [Int] {
        let url = folder.appendingPathComponent("class_means.npy")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CILError("\(folder.path): no class means stored with this model (only ccsi and ci keep them)")
        }
        let array = try NpyArray.read(from: url)
        guard array.shape.count == 4 else { throw CILError("\(folder.path)/class_means.npy: shape \(array.shape), not [classes, C, H, W]") }
        return Array(array.shape.dropFirst())
    }
}
