import Testing
@testable import TensorCore

/// Sums over trailing axes (each output one contiguous run, the spatial means of NMD
/// signatures) against a float64 loop written here, and their gradient by finite differences.
@Suite struct TrailingSumTests {
    @Test func matchesFloat64Loop() {
        let x = Tensor.normal([3, 5, 37, 41], generator: RandomGenerator(seed: 90))
        let values = x.doubles()
        for (axes, inner) in [([2, 3], 37 * 41), ([3], 41), ([1, 2, 3], 5 * 37 * 41)] {
            let sums = x.sum(axes: axes).doubles()
            let expected = stride(from: 0, to: values.count, by: inner).map { start in values[start..<(start + inner)].reduce(0, +) }
            #expect(sums.count == expected.count)
            let error = zip(sums, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 1
            #expect(error < 1e-5, "axes \(axes): \(error)")
        }
    }

    @Test func gradient() {
        expectGradients([randomInput([2, 3, 4, 5], seed: 91)]) { $0[0].sum(axes: [2, 3], keepDims: true) * $0[0] }
    }
}
