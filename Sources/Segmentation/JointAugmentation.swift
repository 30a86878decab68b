import DataLoading
import TensorCore

/// The segmentation augmentation of the reference code (isotropic rescale by a factor uniform
/// in [1/1.5, 1.5), left-right flip with probability 0.5) applied with one geometry to an
/// image, its mask and its soft targets: the image and the soft targets bilinearly, the mask by
/// nearest neighbour. Rescaling keeps the size by centre crop or padding; padding is the
/// image's minimum (its background) in the image, background in the mask and zero in the soft
/// targets (no distillation target there).
public struct JointAugmentation: Sendable {
    public var augmentation: Augmentation

    public init(augmentation: Augmentation = .segmentation) { self.augmentation = augmentation }

    /// Augments `sample` ([channels, height, width] pixels and its mask) and `softTargets`
    /// ([classes, height, width], or nil) in place with the same random geometry.
    public func apply(_ sample: inout Sample, shape: [Int], softTargets: inout [Float]?, valueRange: ClosedRange<Float>?,
                      generator: RandomGenerator) throws {
        guard augmentation.rotationDegrees == 0, augmentation.brightness == 0, augmentation.contrast == 0 else {
            throw SegmentationError.invalid("joint augmentation of soft targets supports flips and rescales only")
        }
        let (height, width) = (shape[1], shape[2])
        // One seed, two identical streams: the image's and the soft targets' draws coincide.
        let seed = generator.next()
        augmentation.apply(&sample, shape: shape, valueRange: valueRange, generator: RandomGenerator(seed: seed))
        guard let targets = softTargets else { return }
        guard targets.count % (height * width) == 0, !targets.isEmpty else {
            throw SegmentationError.invalid("\(targets.count) soft-target values are not whole \(height)x\(width) maps")
        }
        var carrier = Sample(pixels: targets, label: 0, mask: nil)
        augmentation.apply(&carrier, shape: [targets.count / (height * width), height, width], valueRange: 0...1,
                           generator: RandomGenerator(seed: seed))
        softTargets = carrier.pixels
    }
}
