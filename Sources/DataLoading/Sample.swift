/// One training example: values [channels, height, width] (float32), a class label, and for
/// segmentation a per-pixel class mask [height, width] (-1 marks pixels without a label).
public struct Sample: Sendable {
    public var pixels: [Float]
    public var label: Int
    public var mask: [Int]?

    public init(pixels: [Float], label: Int, mask: [Int]?) {
        self.pixels = pixels
        self.label = label
        self.mask = mask
    }
}

/// A dataset the loader can read from.
public protocol SampleSource: AnyObject, Sendable {
    var count: Int { get }
    /// [channels, height, width].
    var sampleShape: [Int] { get }
    /// Mean and std subtracted and divided after augmentation (0 and 1 for none).
    var normalization: (mean: Float, std: Float) { get }
    func sample(at index: Int) throws -> Sample
}
