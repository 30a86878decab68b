/// Samples held in memory: images [N, C, H, W] as one flat array and their labels (and
/// optionally masks). For small datasets, tests, and exported features.
public final class ArrayDataset: SampleSource, @unchecked Sendable {
    public let images: [Float]
    public let labels: [Int]
    public let masks: [[Int]]?
    public let sampleShape: [Int]
    public let normalization: (mean: Float, std: Float)

    public init(images: [Float], labels: [Int], sampleShape: [Int], masks: [[Int]]? = nil, normalization: (mean: Float, std: Float) = (0, 1)) {
        precondition(images.count == labels.count * sampleShape.reduce(1, *), "\(images.count) values for \(labels.count) samples of \(sampleShape)")
        self.images = images
        self.labels = labels
        self.masks = masks
        self.sampleShape = sampleShape
        self.normalization = normalization
    }

    public var count: Int { labels.count }

    public func sample(at index: Int) throws -> Sample {
        let size = sampleShape.reduce(1, *)
        return Sample(pixels: Array(images[(index * size)..<((index + 1) * size)]), label: labels[index], mask: masks?[index])
    }

    /// A subset, in the given order.
    public func subset(_ indices: [Int]) -> ArrayDataset {
        let size = sampleShape.reduce(1, *)
        var pixels: [Float] = []
        pixels.reserveCapacity(indices.count * size)
        for i in indices { pixels += images[(i * size)..<((i + 1) * size)] }
        return ArrayDataset(images: pixels, labels: indices.map { labels[$0] }, sampleShape: sampleShape,
                            masks: masks.map { m in indices.map { m[$0] } }, normalization: normalization)
    }
}
