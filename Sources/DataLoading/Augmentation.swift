import Foundation
import TensorCore

/// Random training augmentations, applied to an image and its mask together (the same
/// geometry for both; masks resampled by nearest neighbour), on values in 0...1 before
/// normalisation, in the order of the seed work's pipeline: rotation, horizontal flip,
/// brightness/contrast, then isotropic rescale.
public struct Augmentation: Sendable {
    /// Rotation by an angle uniform in +-degrees about the centre, bilinear, border replicated
    /// (albumentations' Rotate with BORDER_REPLICATE).
    public var rotationDegrees: Double = 0
    /// Probability of a left-right flip.
    public var horizontalFlip: Double = 0
    /// albumentations' RandomBrightnessContrast: x * (1 + U(-contrast, contrast)) + U(-brightness, brightness).
    public var brightness: Double = 0
    public var contrast: Double = 0
    /// Isotropic rescale by a factor uniform in the range (LwfSeg: 1/1.5 ... 1.5), the size kept
    /// by centre crop or zero padding.
    public var rescale: ClosedRange<Double>?

    public init(rotationDegrees: Double = 0, horizontalFlip: Double = 0, brightness: Double = 0, contrast: Double = 0,
                rescale: ClosedRange<Double>? = nil) {
        self.rotationDegrees = rotationDegrees
        self.horizontalFlip = horizontalFlip
        self.brightness = brightness
        self.contrast = contrast
        self.rescale = rescale
    }

    /// The seed echo work's augmentation: rotate +-30 degrees, flip with p 0.5, brightness and
    /// contrast +-0.15.
    public static let echoViews = Augmentation(rotationDegrees: 30, horizontalFlip: 0.5, brightness: 0.15, contrast: 0.15)

    /// LwfSeg / AeiSeg: isotropic rescale in [1/1.5, 1.5] and left-right flip with p 0.5.
    public static let segmentation = Augmentation(horizontalFlip: 0.5, rescale: (1 / 1.5)...1.5)

    public var isIdentity: Bool {
        rotationDegrees == 0 && horizontalFlip == 0 && brightness == 0 && contrast == 0 && rescale == nil
    }

    /// Augments `sample` ([channels, height, width]) in place. `valueRange` is where values
    /// live (brightness/contrast clamps to it; rescaling pads with its lower end); nil for
    /// unbounded values, which are not clamped and are padded with the image's minimum (its
    /// background, for z-scored MR).
    public func apply(_ sample: inout Sample, shape: [Int], valueRange: ClosedRange<Float>? = 0...1, generator: RandomGenerator) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        if rotationDegrees > 0 {
            let angle = generator.uniform(-rotationDegrees, rotationDegrees) * .pi / 180
            let (c, s) = (cos(angle), sin(angle))
            // Output (x, y) samples the input at the inverse rotation about the centre.
            warp(&sample, channels: channels, height: height, width: width, fill: nil) { x, y in
                let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
                let dx = x - cx, dy = y - cy
                return (c * dx + s * dy + cx, -s * dx + c * dy + cy)
            }
        }
        if horizontalFlip > 0, generator.uniform() < horizontalFlip {
            for ch in 0..<channels {
                for y in 0..<height {
                    let row = (ch * height + y) * width
                    for x in 0..<(width / 2) { sample.pixels.swapAt(row + x, row + width - 1 - x) }
                }
            }
            if var mask = sample.mask {
                for y in 0..<height { for x in 0..<(width / 2) { mask.swapAt(y * width + x, y * width + width - 1 - x) } }
                sample.mask = mask
            }
        }
        if brightness > 0 || contrast > 0 {
            let alpha = Float(1 + generator.uniform(-contrast, contrast)), beta = Float(generator.uniform(-brightness, brightness))
            if let valueRange {
                for k in sample.pixels.indices { sample.pixels[k] = min(max(sample.pixels[k] * alpha + beta, valueRange.lowerBound), valueRange.upperBound) }
            } else {
                for k in sample.pixels.indices { sample.pixels[k] = sample.pixels[k] * alpha + beta }
            }
        }
        if let rescale {
            let factor = generator.uniform(rescale.lowerBound, rescale.upperBound)
            let fill = valueRange?.lowerBound ?? sample.pixels.min() ?? 0
            warp(&sample, channels: channels, height: height, width: width, fill: fill) { x, y in
                let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
                return ((x - cx) / factor + cx, (y - cy) / factor + cy)
            }
        }
    }

    /// Resamples every channel at `source(x, y)` (bilinear; outside the image: replicate the
    /// border when `fill` is nil, else `fill` and background in the mask), and the mask by
    /// nearest neighbour.
    private func warp(_ sample: inout Sample, channels: Int, height: Int, width: Int, fill: Float?,
                      _ source: (Double, Double) -> (Double, Double)) {
        var out = [Float](repeating: 0, count: sample.pixels.count)
        // Padding is empty image: background (0) in the mask.
        let original = sample.mask
        var mask = original.map { [Int](repeating: 0, count: $0.count) }
        let plane = height &* width
        // Every index below is a pixel of a [channels, height, width] buffer (coordinates are
        // clamped into the image first), so the loops read and write through unchecked pointers.
        sample.pixels.withUnsafeBufferPointer { pixels in
            out.withUnsafeMutableBufferPointer { outPixels in
                let p = pixels.baseAddress!, o = outPixels.baseAddress!
                for y in 0..<height {
                    for x in 0..<width {
                        let (sx, sy) = source(Double(x), Double(y))
                        let outside = sx < -0.5 || sy < -0.5 || sx > Double(width) - 0.5 || sy > Double(height) - 0.5
                        let at = y &* width &+ x
                        if let original, !(outside && fill != nil) {
                            let nx = min(max(Int(sx.rounded()), 0), width &- 1), ny = min(max(Int(sy.rounded()), 0), height &- 1)
                            mask![at] = original[ny &* width &+ nx]
                        }
                        if outside, let fill {
                            for ch in 0..<channels { o[ch &* plane &+ at] = fill }
                            continue
                        }
                        let cx = min(max(sx, 0), Double(width - 1)), cy = min(max(sy, 0), Double(height - 1))
                        let x0 = Int(cx), y0 = Int(cy), x1 = min(x0 &+ 1, width &- 1), y1 = min(y0 &+ 1, height &- 1)
                        let fx = Float(cx - Double(x0)), fy = Float(cy - Double(y0))
                        for ch in 0..<channels {
                            let base = p + ch &* plane
                            let top = base[y0 &* width &+ x0] * (1 - fx) + base[y0 &* width &+ x1] * fx
                            let bottom = base[y1 &* width &+ x0] * (1 - fx) + base[y1 &* width &+ x1] * fx
                            o[ch &* plane &+ at] = top * (1 - fy) + bottom * fy
                        }
                    }
                }
            }
        }
        sample.pixels = out
        if mask != nil { sample.mask = mask }
    }
}
