import ArrayFiles
import Foundation
import TensorCore

/// CoRiSeg's content distance (Ozdemir et al. 2018, eq. (3), after Gatys et al.'s content
/// loss): for feature maps R^l (layer l, all its filters and positions, M_l values) of a
/// feature extractor,
///   d(i, j) = Σ_l (1 / M_l) Σ_{f, p} (R^l_{f,p}(I_i) − R^l_{f,p}(I_j))²,
/// the mean squared difference per layer summed over the layers; CoRiSeg's distance is its
/// min-max normalisation over the whole matrix, `MinMaxNormalized(ContentDistances(...))`.
///
/// The features of all N slices (Σ_l M_l floats each: about 6 M for VGG16's conv*_2 layers at
/// 224², far less at CPU preset sizes) go to a scratch `.npy` file that is memory-mapped, so
/// memory holds one batch of activations and the pages the OS keeps, never all features.
public final class ContentDistances: DistanceRows, @unchecked Sendable {
    /// M_l per layer.
    public let layerSizes: [Int]
    public let file: URL
    private let features: MappedNpy

    /// Runs `extractor` on `images` [N, C, H, W] in batches and stores its layer activations
    /// ([B, F_l, h_l, w_l] each, any rank with the batch first) in `scratch` (a `.npy` path,
    /// written atomically; the caller removes it when the selection is done).
    public init(images: Tensor, batchSize: Int = 8, scratch: URL, extractor: (Tensor) throws -> [Tensor]) throws {
        guard images.rank == 4, images.shape[0] > 0, batchSize > 0 else {
            throw SegmentationError.invalid("content distances need images [N, C, H, W] with N > 0 and a positive batch size, not \(images.shape)")
        }
        let n = images.shape[0]
        var writer: NpyStreamWriter?
        var sizes: [Int] = []
        for start in stride(from: 0, to: n, by: batchSize) {
            let batch = images.slice(axis: 0, start..<min(start + batchSize, n))
            let layers = try Autograd.withNoGrad { try extractor(batch) }
            let b = batch.shape[0]
            let batchSizes = layers.map { $0.count / max(b, 1) }
            guard !layers.isEmpty, layers.allSatisfy({ $0.shape.first == b }) else {
                throw SegmentationError.invalid("the feature extractor returned layers \(layers.map(\.shape)) for a batch of \(b)")
            }
            if writer == nil {
                sizes = batchSizes
                writer = try NpyStreamWriter(url: scratch, dtype: .float32, shape: [n, sizes.reduce(0, +)])
            }
            guard batchSizes == sizes else {
                throw SegmentationError.invalid("the feature extractor's layer sizes changed from \(sizes) to \(batchSizes)")
            }
            let flat = layers.map { $0.floats() }
            for i in 0..<b {
                for (l, values) in flat.enumerated() { try writer!.append(Array(values[(i * sizes[l])..<((i + 1) * sizes[l])])) }
            }
        }
        try writer!.finish()
        layerSizes = sizes
        file = scratch
        features = try MappedNpy(url: scratch)
    }

    public var count: Int { features.header.shape[0] }

    public func row(_ i: Int) -> [Double] {
        let a = features.item(i).bindMemory(to: Float.self)
        return (0..<count).map { j in
            let b = features.item(j).bindMemory(to: Float.self)
            var total = 0.0, offset = 0
            for size in layerSizes {
                var sum = 0.0
                for k in offset..<(offset + size) {
                    let d = Double(a[k]) - Double(b[k])
                    sum += d * d
                }
                total += sum / Double(size)
                offset += size
            }
            return total
        }
    }
}
