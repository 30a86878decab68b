import Foundation
import Support

/// Per-volume intensity normalisation of MR images, whose raw scale differs between
/// scanners, sequences and even sessions: clip to two percentiles (robust to a few very
/// bright voxels), then z-score or map to [0, 1]. The statistics are recorded with every
/// volume so that a trainer (or a reviewer) can undo or compare them.
public struct IntensityNormalization: Sendable, Equatable, Codable {
    /// Percentile values (in the image's scaled units) the volume is clipped to.
    public var low: Double
    public var high: Double
    /// Mean and standard deviation (population) of the clipped volume.
    public var mean: Double
    public var std: Double
    public var method: MRIntensitySpec.Normalization

    enum CodingKeys: String, CodingKey {
        case low = "clip_low"
        case high = "clip_high"
        case mean, std, method
    }

    /// Why a volume cannot be normalised.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Computes the statistics of `values` (every voxel of one volume, all finite).
    public init(values: [Float], spec: MRIntensitySpec) throws {
        guard !values.isEmpty else { throw Failure(description: "the image has no voxels") }
        let (low, high) = Self.percentiles(values, spec.clipPercentiles[0], spec.clipPercentiles[1])
        var sum = 0.0, sumSquares = 0.0
        for v in values {
            let x = min(max(Double(v), low), high)
            sum += x
            sumSquares += x * x
        }
        let n = Double(values.count)
        let mean = sum / n
        let std = max(sumSquares / n - mean * mean, 0).squareRoot()
        self.low = low
        self.high = high
        self.mean = mean
        self.std = std
        self.method = spec.normalization
        let spread = method == .zscore ? std : high - low
        guard spread > 1e-12 * max(1, abs(mean)) else {
            throw Failure(description: String(format: "the image is constant between the %g and %g percentiles (%g): it cannot be normalised",
                                              spec.clipPercentiles[0], spec.clipPercentiles[1], low))
        }
    }

    /// The normalised value of a raw one.
    @inline(__always)
    public func apply(_ value: Float) -> Float {
        let x = min(max(Double(value), low), high)
        switch method {
        case .zscore: return Float((x - mean) / std)
        case .minmax: return Float((x - low) / (high - low))
        }
    }

    /// The lowest normalised value (what padding uses, so that it looks like background).
    public var floor: Float { apply(Float(low)) }

    public func apply(_ values: inout [Float]) {
        values.withUnsafeMutableBufferPointer { v in
            for k in 0..<v.count { v[k] = apply(v[k]) }
        }
    }

    /// numpy's `percentile(values, [p, q])` with its default linear interpolation: the
    /// value at fractional rank p/100 * (n - 1) between its two neighbours in sorted order.
    /// Uses selection (O(n)) on a copy, not a full sort.
    public static func percentiles(_ values: [Float], _ p: Double, _ q: Double) -> (Double, Double) {
        var work = values
        let n = work.count
        func rank(_ percent: Double) -> (Int, Double) {
            let position = percent / 100 * Double(n - 1)
            let lower = min(Int(position.rounded(.down)), n - 1)
            return (lower, position - Double(lower))
        }
        let (lowIndex, lowFraction) = rank(p)
        let (highIndex, highFraction) = rank(q)
        return work.withUnsafeMutableBufferPointer { buffer -> (Double, Double) in
            // Select in increasing order so that each selection narrows the next.
            select(buffer, k: lowIndex, from: 0)
            let lowA = Double(buffer[lowIndex])
            let lowB = lowIndex + 1 < n ? Double(minimum(buffer, from: lowIndex + 1)) : lowA
            select(buffer, k: highIndex, from: lowIndex)
            let highA = Double(buffer[highIndex])
            let highB = highIndex + 1 < n ? Double(minimum(buffer, from: highIndex + 1)) : highA
            return (lerp(lowA, lowB, lowFraction), lerp(highA, highB, highFraction))
        }
    }

    /// numpy's `_lerp`: a + (b - a) t, computed from the nearer end for t >= 0.5.
    static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let difference = b - a
        return t >= 0.5 ? b - difference * (1 - t) : a + difference * t
    }

    private static func minimum(_ buffer: UnsafeMutableBufferPointer<Float>, from start: Int) -> Float {
        var m = buffer[start]
        for k in (start + 1)..<buffer.count where buffer[k] < m { m = buffer[k] }
        return m
    }

    /// Rearranges buffer[from...] so that buffer[k] holds the value of rank k, smaller
    /// values before it and larger after (Hoare-style quickselect, median-of-three pivots;
    /// elements before `from` must already be no larger than those after).
    private static func select(_ buffer: UnsafeMutableBufferPointer<Float>, k: Int, from start: Int) {
        var lo = start, hi = buffer.count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            // Median of three as pivot.
            if buffer[mid] < buffer[lo] { buffer.swapAt(mid, lo) }
            if buffer[hi] < buffer[lo] { buffer.swapAt(hi, lo) }
            if buffer[hi] < buffer[mid] { buffer.swapAt(hi, mid) }
            let pivot = buffer[mid]
            var i = lo, j = hi
            while i <= j {
                while buffer[i] < pivot { i += 1 }
                while buffer[j] > pivot { j -= 1 }
                if i <= j {
                    buffer.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }
}
