/// Antialiased bilinear resampling of 8-bit grey images, the algorithm Pillow's
/// `Image.resize(size, Image.BILINEAR, box=...)` uses: a separable triangle filter whose
/// support widens with the downscale factor, so that shrinking a 640-pixel sector to 112
/// averages every source pixel instead of sampling a few (no aliasing of speckle).
///
/// For output index i along an axis with source box [b0, b1) and n outputs:
/// scale = (b1 - b0) / n, filter scale s = max(scale, 1), centre c = b0 + (i + 0.5) * scale,
/// weights w(x) = max(0, 1 - |(x + 0.5 - c) / s|) over source pixels x within c ± s,
/// normalised to sum 1.
public struct ResampleAxis: Sendable {
    public let outputCount: Int
    let starts: [Int]
    let counts: [Int]
    let weights: [Float]
    let stride: Int

    public init(inputCount: Int, boxStart: Double, boxEnd: Double, outputCount: Int) {
        precondition(outputCount > 0 && inputCount > 0 && boxEnd > boxStart)
        self.outputCount = outputCount
        let scale = (boxEnd - boxStart) / Double(outputCount)
        let filterScale = max(scale, 1)
        let support = filterScale
        let width = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](repeating: 0, count: outputCount)
        var counts = [Int](repeating: 0, count: outputCount)
        var weights = [Float](repeating: 0, count: outputCount * width)
        for i in 0..<outputCount {
            let center = boxStart + (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inputCount)
            var total = 0.0
            var local = [Double]()
            if hi > lo {
                for x in lo..<hi {
                    let w = max(0, 1 - abs((Double(x) - center + 0.5) / filterScale))
                    local.append(w)
                    total += w
                }
            }
            starts[i] = lo
            counts[i] = min(local.count, width)
            for k in 0..<counts[i] { weights[i * width + k] = total > 0 ? Float(local[k] / total) : 0 }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        self.stride = width
    }
}

/// A resampling from a fixed source box to a fixed output size, planned once per cine and
/// applied to every frame.
public struct ResamplePlan: Sendable {
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let outWidth: Int
    public let outHeight: Int
    let horizontal: ResampleAxis
    let vertical: ResampleAxis
    let rowLo: Int
    let rowHi: Int

    /// Resamples the box `[x0, x1) x [y0, y1)` of a `sourceWidth` x `sourceHeight` image.
    public init(sourceWidth: Int, sourceHeight: Int, box: (x0: Double, y0: Double, x1: Double, y1: Double),
                outWidth: Int, outHeight: Int) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.outWidth = outWidth
        self.outHeight = outHeight
        horizontal = ResampleAxis(inputCount: sourceWidth, boxStart: box.x0, boxEnd: box.x1, outputCount: outWidth)
        vertical = ResampleAxis(inputCount: sourceHeight, boxStart: box.y0, boxEnd: box.y1, outputCount: outHeight)
        rowLo = vertical.starts.first ?? 0
        rowHi = zip(vertical.starts, vertical.counts).map { $0 + $1 }.max() ?? 0
    }

    /// Resamples `source` (row-major grey) into `out` (`outHeight` x `outWidth`, row stride
    /// `outStride`), rounding and clipping to 0...255.
    public func apply(_ source: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, outStride: Int? = nil) {
        let stride = outStride ?? outWidth
        var temp = [Float](repeating: 0, count: max(rowHi - rowLo, 0) * outWidth)
        var row = [Float](repeating: 0, count: outWidth)
        temp.withUnsafeMutableBufferPointer { t in
            horizontal.weights.withUnsafeBufferPointer { hw in
                for y in rowLo..<rowHi {
                    let dst = (y - rowLo) * outWidth
                    let src = y * sourceWidth
                    for i in 0..<outWidth {
                        let start = src + horizontal.starts[i]
                        let base = i * horizontal.stride
                        var acc: Float = 0
                        for k in 0..<horizontal.counts[i] { acc += Float(source[start + k]) * hw[base + k] }
                        t[dst + i] = acc
                    }
                }
            }
            row.withUnsafeMutableBufferPointer { r in
                vertical.weights.withUnsafeBufferPointer { vw in
                    for j in 0..<outHeight {
                        for i in 0..<outWidth { r[i] = 0 }
                        let base = j * vertical.stride
                        for k in 0..<vertical.counts[j] {
                            let w = vw[base + k]
                            let src = (vertical.starts[j] + k - rowLo) * outWidth
                            for i in 0..<outWidth { r[i] += t[src + i] * w }
                        }
                        let dst = j * stride
                        for i in 0..<outWidth { out[dst + i] = UInt8(max(0, min(255, (r[i] + 0.5).rounded(.down)))) }
                    }
                }
            }
        }
    }
}
