/// Turns one plane of a canonical volume into an output slice of fixed size: optional
/// in-plane resampling to a target pixel spacing, then padding/cropping or resizing to the
/// target size. Images are resampled linearly with Pillow's antialiased triangle filter
/// (`Image.resize(..., BILINEAR)` on float images, which the tests check against), masks by
/// nearest neighbour (Pillow's `NEAREST`: source pixel floor((i + 0.5) * scale)), so that
/// masks never get class values that were not there. Padding and cropping are centred:
/// (target - n) / 2 rows or columns of padding before, (n - target) / 2 cut before (an odd
/// excess loses its extra row or column at the end).
public struct SliceResampler: Sendable {
    /// Plane size [H, W] before resampling.
    public let sourceSize: (Int, Int)
    /// Plane size after in-plane resampling (equal to `sourceSize` without resampling).
    public let resampledSize: (Int, Int)
    /// Output size [H, W].
    public let outputSize: (Int, Int)
    public let fit: MRGeometrySpec.Fit
    private let linear: (ResampleAxis, ResampleAxis)?
    private let nearest: ([Int], [Int])?
    private let fitLinear: (ResampleAxis, ResampleAxis)?
    private let fitNearest: ([Int], [Int])?

    /// - Parameters:
    ///   - spacing: the plane's pixel spacing [H, W] (mm).
    ///   - targetSpacing: resample to this spacing first, or nil.
    public init(sourceSize: (Int, Int), spacing: (Double, Double), targetSpacing: [Double]?, outputSize: (Int, Int), fit: MRGeometrySpec.Fit) {
        self.sourceSize = sourceSize
        self.outputSize = outputSize
        self.fit = fit
        if let target = targetSpacing {
            let h = max(1, Int((Double(sourceSize.0) * spacing.0 / target[0]).rounded()))
            let w = max(1, Int((Double(sourceSize.1) * spacing.1 / target[1]).rounded()))
            resampledSize = (h, w)
        } else {
            resampledSize = sourceSize
        }
        if resampledSize != sourceSize {
            linear = (Self.axis(sourceSize.0, resampledSize.0), Self.axis(sourceSize.1, resampledSize.1))
            nearest = (Self.nearestIndices(sourceSize.0, resampledSize.0), Self.nearestIndices(sourceSize.1, resampledSize.1))
        } else {
            linear = nil
            nearest = nil
        }
        if fit == .resize && resampledSize != outputSize {
            fitLinear = (Self.axis(resampledSize.0, outputSize.0), Self.axis(resampledSize.1, outputSize.1))
            fitNearest = (Self.nearestIndices(resampledSize.0, outputSize.0), Self.nearestIndices(resampledSize.1, outputSize.1))
        } else {
            fitLinear = nil
            fitNearest = nil
        }
    }

    /// The pixel spacing of output slices (mm), [H, W].
    public func outputSpacing(sourceSpacing: (Double, Double)) -> [Double] {
        var h = sourceSpacing.0 * Double(sourceSize.0) / Double(resampledSize.0)
        var w = sourceSpacing.1 * Double(sourceSize.1) / Double(resampledSize.1)
        if fit == .resize {
            h *= Double(resampledSize.0) / Double(outputSize.0)
            w *= Double(resampledSize.1) / Double(outputSize.1)
        }
        return [h, w]
    }

    /// An image plane ([H, W] row-major) to the output slice; `padValue` fills padding.
    public func image(_ plane: [Float], padValue: Float) -> [Float] {
        var current = plane
        var size = sourceSize
        if let (vertical, horizontal) = linear {
            current = Self.resample(current, size: size, vertical: vertical, horizontal: horizontal)
            size = resampledSize
        }
        if let (vertical, horizontal) = fitLinear {
            return Self.resample(current, size: size, vertical: vertical, horizontal: horizontal)
        }
        return Self.padOrCrop(current, size: size, to: outputSize, fill: padValue)
    }

    /// A mask plane to the output slice (padding is 0).
    public func mask(_ plane: [UInt8]) -> [UInt8] {
        var current = plane
        var size = sourceSize
        if let (rows, columns) = nearest {
            current = Self.pick(current, width: size.1, rows: rows, columns: columns)
            size = resampledSize
        }
        if let (rows, columns) = fitNearest {
            return Self.pick(current, width: size.1, rows: rows, columns: columns)
        }
        return Self.padOrCrop(current, size: size, to: outputSize, fill: 0)
    }

    static func axis(_ input: Int, _ output: Int) -> ResampleAxis {
        ResampleAxis(inputCount: input, boxStart: 0, boxEnd: Double(input), outputCount: output)
    }

    /// Source index of each output pixel: floor((i + 0.5) * scale), computed the way
    /// Pillow's NEAREST resize does (`ImagingScaleAffine`: the position starts at scale / 2
    /// and grows by repeated addition), so that masks match Pillow's bit for bit.
    static func nearestIndices(_ input: Int, _ output: Int) -> [Int] {
        let scale = Double(input) / Double(output)
        var position = scale * 0.5
        var indices: [Int] = []
        indices.reserveCapacity(output)
        for _ in 0..<output {
            indices.append(min(Int(position), input - 1))
            position += scale
        }
        return indices
    }

    static func pick(_ plane: [UInt8], width: Int, rows: [Int], columns: [Int]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rows.count * columns.count)
        plane.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                var index = 0
                for r in rows {
                    let base = r * width
                    for c in columns { o[index] = p[base + c]; index += 1 }
                }
            }
        }
        return out
    }

    /// Separable resampling: along W (horizontal) first, then along H, as Pillow does, with
    /// double-precision sums as Pillow's float path.
    static func resample(_ plane: [Float], size: (Int, Int), vertical: ResampleAxis, horizontal: ResampleAxis) -> [Float] {
        let (h, w) = size
        let ow = horizontal.outputCount, oh = vertical.outputCount
        var temp = [Float](repeating: 0, count: h * ow)
        plane.withUnsafeBufferPointer { src in
            temp.withUnsafeMutableBufferPointer { t in
                horizontal.starts.withUnsafeBufferPointer { starts in
                    horizontal.counts.withUnsafeBufferPointer { counts in
                        horizontal.weights.withUnsafeBufferPointer { weights in
                            for y in 0..<h {
                                let row = y * w
                                for i in 0..<ow {
                                    let start = row + starts[i]
                                    let base = i * horizontal.stride
                                    var acc = 0.0
                                    for k in 0..<counts[i] { acc += Double(src[start + k]) * Double(weights[base + k]) }
                                    t[y * ow + i] = Float(acc)
                                }
                            }
                        }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: oh * ow)
        var acc = [Double](repeating: 0, count: ow)
        temp.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                acc.withUnsafeMutableBufferPointer { a in
                    vertical.weights.withUnsafeBufferPointer { weights in
                        for j in 0..<oh {
                            for i in 0..<ow { a[i] = 0 }
                            let base = j * vertical.stride
                            for k in 0..<vertical.counts[j] {
                                let weight = Double(weights[base + k])
                                let row = (vertical.starts[j] + k) * ow
                                for i in 0..<ow { a[i] += Double(t[row + i]) * weight }
                            }
                            for i in 0..<ow { o[j * ow + i] = Float(a[i]) }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Centres `plane` in the output: padding with `fill` where it is smaller, cropping the
    /// centre where it is larger (an odd excess loses its extra row or column at the end).
    static func padOrCrop<T>(_ plane: [T], size: (Int, Int), to output: (Int, Int), fill: T) -> [T] {
        if size == output { return plane }
        var out = [T](repeating: fill, count: output.0 * output.1)
        let rowOffset = (output.0 - size.0) / 2     // > 0: padding above; < 0: rows cut above
        let columnOffset = (output.1 - size.1) / 2
        let firstColumn = max(0, columnOffset), lastColumn = min(output.1, size.1 + columnOffset)
        plane.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<output.0 {
                    let sr = r - rowOffset
                    guard sr >= 0 && sr < size.0, firstColumn < lastColumn else { continue }
                    for c in firstColumn..<lastColumn { o[r * output.1 + c] = p[sr * size.1 + c - columnOffset] }
                }
            }
        }
        return out
    }
}
