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
    /// The normalisation of one sample (sources that pool sites normalise each sample with its
    /// own site's statistics).
    func normalization(at index: Int) -> (mean: Float, std: Float)
    /// The range values live in before normalisation (0...1 for 8-bit shards), which
    /// brightness/contrast augmentation clamps to; nil for unbounded (z-scored) values.
    var valueRange: ClosedRange<Float>? { get }
}

extension SampleSource {
    public func normalization(at index: Int) -> (mean: Float, std: Float) { normalization }
    public var valueRange: ClosedRange<Float>? { 0...1 }
}

/// Several sources as one (Combine & Retrain pools sites), each sample keeping its own
/// source's normalisation; labels optionally remapped (e.g. canonical -> pooled label space).
public final class ConcatDataset: SampleSource, @unchecked Sendable {
    public let sources: [SampleSource]
    public let labelMap: [Int: Int]?
    private let offsets: [Int]

    public init(_ sources: [SampleSource], labelMap: [Int: Int]? = nil) {
        precondition(!sources.isEmpty && sources.allSatisfy { $0.sampleShape == sources[0].sampleShape }, "sources must share a sample shape")
        self.sources = sources
        self.labelMap = labelMap
        var offsets = [0]
        for source in sources { offsets.append(offsets.last! + source.count) }
        self.offsets = offsets
    }

    public var count: Int { offsets.last! }
    public var sampleShape: [Int] { sources[0].sampleShape }
    public var normalization: (mean: Float, std: Float) { sources[0].normalization }
    public var valueRange: ClosedRange<Float>? { sources[0].valueRange }

    /// (source, index within it) of a pooled index.
    public func locate(_ index: Int) -> (Int, Int) {
        var s = 0
        while offsets[s + 1] <= index { s += 1 }
        return (s, index - offsets[s])
    }

    public func sample(at index: Int) throws -> Sample {
        let (s, i) = locate(index)
        var sample = try sources[s].sample(at: i)
        if let labelMap {
            guard let mapped = labelMap[sample.label] else { throw DataError.invalid("label \(sample.label) has no place in the pooled label space") }
            sample.label = mapped
        }
        return sample
    }

    public func normalization(at index: Int) -> (mean: Float, std: Float) {
        let (s, i) = locate(index)
        return sources[s].normalization(at: i)
    }
}
