import Foundation
import TensorCore

/// Labelled images held in memory: values [N, C, H, W] in one flat array, labels as positions
/// in the sequence's class order (0 = the first class to arrive).
public struct ImageSet: Sendable {
    public var pixels: [Float]
    public var labels: [Int]
    /// [C, H, W].
    public var shape: [Int]

    public init(pixels: [Float], labels: [Int], shape: [Int]) {
        precondition(pixels.count == labels.count * shape.reduce(1, *), "\(pixels.count) values for \(labels.count) images of \(shape)")
        self.pixels = pixels
        self.labels = labels
        self.shape = shape
    }

    public static func empty(shape: [Int]) -> ImageSet { ImageSet(pixels: [], labels: [], shape: shape) }

    public var count: Int { labels.count }
    public var imageSize: Int { shape.reduce(1, *) }

    public func image(_ index: Int) -> ArraySlice<Float> { pixels[(index * imageSize)..<((index + 1) * imageSize)] }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageSet {
        var out: [Float] = []
        out.reserveCapacity(indices.count * imageSize)
        for i in indices { out += image(i) }
        return ImageSet(pixels: out, labels: indices.map { labels[$0] }, shape: shape)
    }

    /// The images whose label is in `classes`.
    public func restricted(to classes: Set<Int>) -> ImageSet {
        subset(labels.indices.filter { classes.contains(labels[$0]) })
    }

    public static func + (a: ImageSet, b: ImageSet) -> ImageSet {
        if a.count == 0 { return b }
        if b.count == 0 { return a }
        precondition(a.shape == b.shape, "image shapes \(a.shape) and \(b.shape) differ")
        return ImageSet(pixels: a.pixels + b.pixels, labels: a.labels + b.labels, shape: a.shape)
    }

    /// A batch tensor [n, C, H, W] of the images at `indices`.
    public func batch(_ indices: [Int]) -> Tensor {
        var out: [Float] = []
        out.reserveCapacity(indices.count * imageSize)
        for i in indices { out += image(i) }
        return Tensor(out, shape: [indices.count] + shape)
    }

    /// The pixel-wise mean image of each class 0..<classes (zeros for a class without images):
    /// the synthesis's starting point, stored with the model.
    public func classMeans(classes: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: classes * imageSize)
        var counts = [Int](repeating: 0, count: classes)
        for (i, y) in labels.enumerated() where y < classes {
            counts[y] += 1
            let image = image(i)
            for (k, v) in image.enumerated() { sums[y * imageSize + k] += Double(v) }
        }
        return sums.enumerated().map { k, s in
            let n = counts[k / imageSize]
            return n == 0 ? 0 : Float(s / Double(n))
        }
    }

    /// Resized (bilinear, align_corners false) to `inner` and zero-padded by `padding` on every
    /// side: the reference's Pad(4) + CenterCrop(32) of 28x28 MedMNIST is inner 28, padding 2.
    public func resizedAndPadded(inner: Int, padding: Int) -> ImageSet {
        guard count > 0 else { return ImageSet.empty(shape: [shape[0], inner + 2 * padding, inner + 2 * padding]) }
        var out: [Float] = []
        let side = inner + 2 * padding
        out.reserveCapacity(count * shape[0] * side * side)
        let chunk = 256
        for start in stride(from: 0, to: count, by: chunk) {
            let indices = Array(start..<min(start + chunk, count))
            var x = batch(indices)
            if shape[1] != inner || shape[2] != inner { x = upsample(x, size: (inner, inner), mode: .bilinear) }
            if padding > 0 { x = x.padded([(0, 0), (0, 0), (padding, padding), (padding, padding)]) }
            out += x.floats()
        }
        return ImageSet(pixels: out, labels: labels, shape: [shape[0], side, side])
    }
}
