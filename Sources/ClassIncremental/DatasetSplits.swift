import ArrayFiles
import DataLoading
import Foundation

/// A classification dataset's three splits with canonical labels (before the class order),
/// from shards or a MedMNIST-schema `.npz`. `validation` is nil when the source has none.
public struct DatasetSplits: Sendable {
    public var train: ImageSet
    public var validation: ImageSet?
    public var test: ImageSet
    /// Canonical label -> class name.
    public var classNames: [Int: String]

    /// Reads the dataset a sequence names; relative paths are relative to `base`.
    public static func load(_ dataset: SequenceConfig.Dataset, relativeTo base: URL?) throws -> DatasetSplits {
        let url = dataset.path.hasPrefix("/") || base == nil ? URL(fileURLWithPath: dataset.path)
            : base!.appendingPathComponent(dataset.path)
        switch dataset.kind {
        case "shards": return try shards(url)
        case "npz": return try npz(url)
        default: throw CILError("dataset.kind '\(dataset.kind)' is not shards or npz")
        }
    }

    /// A folder `medcil convert echo` wrote (or the digits fixture): the train, val and test
    /// splits, each sample's frames as channels, values in 0...1.
    public static func shards(_ folder: URL) throws -> DatasetSplits {
        let description = try ShardDescription.load(from: folder)
        func read(_ split: String) throws -> ImageSet? {
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(split).path) else { return nil }
            let source = try ShardDataset(folder: folder, split: split)
            var pixels: [Float] = []
            for i in 0..<source.count { pixels += try source.pixels(at: i) }
            return ImageSet(pixels: pixels, labels: source.labels, shape: source.sampleShape)
        }
        guard let train = try read("train"), train.count > 0 else { throw CILError("\(folder.path): no train split") }
        guard let test = try read("test"), test.count > 0 else { throw CILError("\(folder.path): no test split") }
        let names = Dictionary(description.classes.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return DatasetSplits(train: train, validation: try read("val").flatMap { $0.count > 0 ? $0 : nil }, test: test, classNames: names)
    }

    /// A MedMNIST `.npz`: train_images/labels, val_images/labels, test_images/labels; images
    /// [N, H, W] (grey) or [N, H, W, 3] (RGB), uint8; labels [N] or [N, 1].
    public static func npz(_ url: URL) throws -> DatasetSplits {
        let arrays = try NpzArchive.read(from: url)
        func read(_ split: String) throws -> ImageSet {
            guard let images = arrays["\(split)_images"], let labels = arrays["\(split)_labels"] else {
                throw CILError("\(url.path): missing \(split)_images or \(split)_labels (MedMNIST schema; has \(arrays.keys.sorted().joined(separator: ", ")))")
            }
            guard images.shape.count == 3 || (images.shape.count == 4 && [1, 3].contains(images.shape[3])) else {
                throw CILError("\(url.path): \(split)_images has shape \(images.shape), not [N, H, W] or [N, H, W, C]")
            }
            let n = images.shape[0], h = images.shape[1], w = images.shape[2], c = images.shape.count == 4 ? images.shape[3] : 1
            let raw = images.floatValues()
            let scale: Float = images.dtype == .uint8 ? 1 / 255 : 1
            var pixels = [Float](repeating: 0, count: raw.count)
            // HWC -> CHW per image.
            for i in 0..<n { for y in 0..<h { for x in 0..<w { for ch in 0..<c {
                pixels[((i * c + ch) * h + y) * w + x] = raw[((i * h + y) * w + x) * c + ch] * scale
            } } } }
            let labelValues = labels.floatValues().map { Int($0) }
            guard labelValues.count == n else { throw CILError("\(url.path): \(labelValues.count) \(split) labels for \(n) images") }
            return ImageSet(pixels: pixels, labels: labelValues, shape: [c, h, w])
        }
        let train = try read("train"), test = try read("test")
        let validation = arrays["val_images"] == nil ? nil : try read("val")
        let classes = Set(train.labels).sorted()
        return DatasetSplits(train: train, validation: validation, test: test,
                             classNames: Dictionary(uniqueKeysWithValues: classes.map { ($0, "class \($0)") }))
    }
}
