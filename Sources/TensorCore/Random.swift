import RealModule

/// A seeded random source for initialisation, dropout masks and augmentation: xoshiro256**
/// seeded through SplitMix64, the same stream on every machine.
public final class RandomGenerator: @unchecked Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The stream's position (the four state words): saved with a training checkpoint and set
    /// back on resume, so that a resumed run draws the same numbers as an uninterrupted one.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set {
            precondition(newValue.count == 4, "a generator state has four words")
            s = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    @inline(__always)
    public func next() -> UInt64 {
        let result = (s.1 &* 5).rotatedLeft(7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3.rotatedLeft(45)
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Standard normal (Box-Muller).
    public func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * .pi * u2)
    }

    /// Uniform integer in 0..<bound.
    public func int(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next() % UInt64(bound))
    }

    /// A seeded Fisher-Yates shuffle of 0..<count.
    public func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { values.swapAt(i, int(below: i + 1)) }
        }
        return values
    }

    /// A child generator with its own stream (for worker threads).
    public func split() -> RandomGenerator { RandomGenerator(seed: next()) }
}

private extension UInt64 {
    @inline(__always) func rotatedLeft(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}

extension Tensor {
    /// Uniform samples in [low, high).
    public static func uniform(_ shape: [Int], low: Double, high: Double, generator: RandomGenerator, dtype: DType = .float32) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, zeroed: false)
        if dtype == .float32 {
            let p = t.pointer(Float.self)
            for i in 0..<t.count { p[i] = Float(generator.uniform(low, high)) }
        } else {
            let p = t.pointer(Double.self)
            for i in 0..<t.count { p[i] = generator.uniform(low, high) }
        }
        return t
    }

    /// Normal samples with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, generator: RandomGenerator, dtype: DType = .float32) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, zeroed: false)
        if dtype == .float32 {
            let p = t.pointer(Float.self)
            for i in 0..<t.count { p[i] = Float(mean + std * generator.normal()) }
        } else {
            let p = t.pointer(Double.self)
            for i in 0..<t.count { p[i] = mean + std * generator.normal() }
        }
        return t
    }
}
