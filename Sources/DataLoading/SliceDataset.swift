import ArrayFiles
import Datasets
import Foundation

/// A converted MR dataset's `dataset.json` (written by `medcil convert mr`): the writer's
/// own type, so that the reader cannot drift from it.
public typealias SliceDescription = MRDatasetDescription

extension MRDatasetDescription {
    public static func load(from folder: URL) throws -> SliceDescription {
        let url = folder.appendingPathComponent("dataset.json")
        let description: SliceDescription
        do {
            description = try JSONDecoder().decode(SliceDescription.self, from: Data(contentsOf: url))
        } catch {
            throw DataError.invalid("\(url.path): \(error)")
        }
        guard description.format == "medcil-mr-slices" else {
            throw DataError.invalid("\(url.path): format \(description.format) is not medcil-mr-slices (convert it with `medcil convert mr`)")
        }
        return description
    }

    /// Canonical indices of the annotated classes, ascending.
    public var annotatedIndices: [Int] { annotatedClasses.compactMap { classes.firstIndex(of: $0) }.sorted() }
}

/// One split of a converted MR dataset: image slices `<split>/<volume>_<slice>.npy` ([H, W]
/// float32) with their masks `<volume>_<slice>_mask.npy` ([H, W] uint8, canonical indices).
///
/// Masks come out in the chosen label space: canonical indices, or the site's own space
/// (background 0, then the annotated classes in canonical order as 1, 2, ...), which is the
/// output space of the head a segmentation increment trains. Images are already normalised
/// per volume by the converter; `normalization` is the training split's mean and std of those
/// values (the per-site standardisation the loader applies).
public final class SliceDataset: SampleSource, @unchecked Sendable {
    public let folder: URL
    public let split: String
    public let description: SliceDescription
    public let labelSpace: LabelSpace
    /// (volume, slice index) per sample, in file-name order.
    public let slices: [(volume: String, index: Int)]
    private let files: [(image: URL, mask: URL)]
    /// Canonical index -> label in `labelSpace`.
    private let labelOf: [Int: Int]

    public init(folder: URL, split: String, labelSpace: LabelSpace = .canonical) throws {
        self.folder = folder
        self.split = split
        self.labelSpace = labelSpace
        description = try SliceDescription.load(from: folder)
        let splitFolder = folder.appendingPathComponent(split)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: splitFolder.path)) ?? [])
            .filter { $0.hasSuffix(".npy") && !$0.hasSuffix("_mask.npy") && !$0.hasPrefix(".") }.sorted()
        var slices: [(String, Int)] = [], files: [(URL, URL)] = []
        for name in names {
            let stem = name.dropLast(4)
            guard let underscore = stem.lastIndex(of: "_"), let index = Int(stem[stem.index(after: underscore)...]) else {
                throw DataError.invalid("\(splitFolder.path)/\(name): slices are named <volume>_<slice>.npy")
            }
            let mask = splitFolder.appendingPathComponent("\(stem)_mask.npy")
            guard FileManager.default.fileExists(atPath: mask.path) else {
                throw DataError.invalid("\(splitFolder.path)/\(name): its mask \(mask.lastPathComponent) is missing")
            }
            slices.append((String(stem[..<underscore]), index))
            files.append((splitFolder.appendingPathComponent(name), mask))
        }
        self.slices = slices
        self.files = files
        switch labelSpace {
        case .canonical:
            labelOf = Dictionary(uniqueKeysWithValues: description.classes.indices.map { ($0, $0) })
        case .site:
            var map = [0: 0]
            for (k, index) in description.annotatedIndices.enumerated() { map[index] = k + 1 }
            labelOf = map
        }
    }

    public var count: Int { files.count }
    public var sampleShape: [Int] { [1, description.image.height, description.image.width] }

    /// Classes of the label space, background first.
    public var classNames: [String] {
        switch labelSpace {
        case .canonical: return description.classes
        case .site: return ["background"] + description.annotatedIndices.map { description.classes[$0] }
        }
    }

    public var normalization: (mean: Float, std: Float) {
        (Float(description.intensity.trainMean), Float(max(description.intensity.trainStd, 1e-8)))
    }

    /// Z-scored slices have no fixed range: augmentation must not clamp them to 0...1.
    public var valueRange: ClosedRange<Float>? {
        description.intensity.normalization == "zscore" ? nil : 0...1
    }

    public func sample(at index: Int) throws -> Sample {
        let (imageURL, maskURL) = files[index]
        let image = try NpyArray.read(from: imageURL), mask = try NpyArray.read(from: maskURL)
        let size = description.image.height * description.image.width
        guard image.count == size, mask.count == size else {
            throw DataError.invalid("\(imageURL.lastPathComponent): image \(image.shape) or mask \(mask.shape) is not [\(description.image.height), \(description.image.width)]")
        }
        let labels = mask.dtype == .uint8 ? mask.data.map(Int.init) : mask.floatValues().map { Int($0) }
        var mapped = [Int](repeating: 0, count: size)
        for (k, value) in labels.enumerated() {
            guard let label = labelOf[value] else {
                let known = labelSpace == .site ? "a class \(description.site) annotates (\(description.annotatedClasses))" : "a canonical class index"
                throw DataError.invalid("\(maskURL.path): mask value \(value) is not \(known)")
            }
            mapped[k] = label
        }
        return Sample(pixels: image.floatValues(), label: 0, mask: mapped)
    }

    /// Whether each sample's mask contains `label` (in the label space): exemplar selection
    /// needs the slices where a class exists.
    public func slicesContaining(_ label: Int) throws -> [Int] {
        try (0..<count).filter { try sample(at: $0).mask!.contains(label) }
    }
}
