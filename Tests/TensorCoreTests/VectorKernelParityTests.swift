import Testing
@testable import TensorCore

/// Float32 tensors take SIMD fast paths (VectorKernels, fused batch norm + ReLU, the 2x2 max-pool
/// path); float64 tensors take the plain scalar loops that the gradient checks verify. Each case
/// runs the same op in both and compares outputs and input gradients. Sizes are chosen so that
/// every vector loop also has a scalar remainder (63 elements per channel, 17 per row).
@Suite struct VectorKernelParityTests {
    /// Runs `f` on float64 inputs and on their float32 copies; the loss is a fixed random
    /// weighting of the output so that every output element gets a distinct gradient.
    func expectParity(_ shapes: [[Int]], seed: UInt64, tolerance: Double = 2e-5,
                      sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
        let wide = shapes.enumerated().map { randomInput($0.element, seed: seed + UInt64($0.offset)) }
        let narrow = wide.map { t -> Tensor in
            let n = Tensor(t.floats(), shape: t.shape)
            n.requiresGrad = true
            return n
        }
        let yWide = f(wide), yNarrow = f(narrow)
        #expect(yWide.shape == yNarrow.shape, sourceLocation: sourceLocation)
        let weights = Tensor.uniform(yWide.shape, low: -1, high: 1, generator: RandomGenerator(seed: seed + 99), dtype: .float64)
        (yWide * weights).sum().backward()
        (yNarrow * Tensor(weights.floats(), shape: weights.shape)).sum().backward()
        #expect(maxDifference(yWide.doubles(), yNarrow.floats()) <= tolerance, "forward", sourceLocation: sourceLocation)
        for (a, b) in zip(wide, narrow) {
            #expect(maxDifference(a.grad!.doubles(), b.grad!.floats()) <= tolerance, "gradient", sourceLocation: sourceLocation)
        }
    }

    func maxDifference(_ a: [Double], _ b: [Float]) -> Double {
        zip(a, b).map { abs($0 - Double($1)) / max(1, abs($0)) }.max() ?? 0
    }

    @Test func elementwise() {
        expectParity([[3, 5, 7, 9], [3, 5, 7, 9]], seed: 200) { ($0[0] + $0[1]) * $0[0] - $0[1] }
        expectParity([[3, 5, 7, 9]], seed: 210) { $0[0].relu() }
        expectParity([[3, 5, 7, 9]], seed: 220) { $0[0].affine(scale: 1.7, shift: -0.3) }
        expectParity([[1001]], seed: 230) { $0[0].sum() }
    }

    @Test(arguments: [true, false])
    func batchNormWithReLU(training: Bool) {
        let mean = Tensor.uniform([5], low: -0.5, high: 0.5, generator: RandomGenerator(seed: 240), dtype: .float64)
        let variance = Tensor.uniform([5], low: 0.5, high: 2, generator: RandomGenerator(seed: 241), dtype: .float64)
        for relu in [false, true] {
            let meanCopies = (mean.to(.float64), Tensor(mean.floats(), shape: [5]))
            let varianceCopies = (variance.to(.float64), Tensor(variance.floats(), shape: [5]))
            expectParity([[3, 5, 7, 9], [5], [5]], seed: 250) {
                let wide = $0[0].dtype == .float64
                return batchNorm($0[0], weight: $0[1], bias: $0[2],
                                 runningMean: wide ? meanCopies.0 : meanCopies.1, runningVar: wide ? varianceCopies.0 : varianceCopies.1,
                                 training: training, relu: relu)
            }
        }
    }

    /// Maps of fewer than 16 values that divide 16 pack several channels to a vector in the
    /// float32 backward (`PackedChannels`): 2x2 maps 4 channels, features [N, C] 16, 2x4 maps 2;
    /// 4x4 maps and [3, 6, 2, 2] (6 channels, not a multiple of 4) stay on the per-channel path.
    /// Plain, with ReLU and with a residual, against float64's scalar loops.
    @Test(arguments: [true, false])
    func batchNormPackedChannels(training: Bool) {
        let cases: [([Int], Int?)] = [([6, 8, 2, 2], 4), ([5, 4, 4, 4], nil), ([7, 32], 16), ([4, 8, 2, 4], 2), ([3, 6, 2, 2], nil)]
        for (index, (shape, group)) in cases.enumerated() {
            let c = shape[1], seed = 300 + 10 * UInt64(index)
            #expect(PackedChannels.group(inner: shape.dropFirst(2).reduce(1, *), channels: c) == group, "\(shape)")
            let mean = Tensor.uniform([c], low: -0.5, high: 0.5, generator: RandomGenerator(seed: seed + 5), dtype: .float64)
            let variance = Tensor.uniform([c], low: 0.5, high: 2, generator: RandomGenerator(seed: seed + 6), dtype: .float64)
            for mode in ["plain", "relu", "residual"] {
                let meanCopies = (mean.to(.float64), Tensor(mean.floats(), shape: [c]))
                let varianceCopies = (variance.to(.float64), Tensor(variance.floats(), shape: [c]))
                expectParity([shape, [c], [c]] + (mode == "residual" ? [shape] : []), seed: seed) {
                    let wide = $0[0].dtype == .float64
                    return batchNorm($0[0], weight: $0[1], bias: $0[2],
                                     runningMean: wide ? meanCopies.0 : meanCopies.1, runningVar: wide ? varianceCopies.0 : varianceCopies.1,
                                     training: training, relu: mode == "relu", residual: mode == "residual" ? $0[3] : nil)
                }
            }
        }
    }

    @Test func maxPoolTwoByTwo() {
        expectParity([[2, 3, 8, 34]], seed: 260) { maxPool2d($0[0], kernel: (2, 2)) }
        expectParity([[2, 3, 9, 35]], seed: 270) { maxPool2d($0[0], kernel: (2, 2)) }
    }

    @Test func dropoutAppliesTheSameUnits() {
        expectParity([[4, 3, 7, 9]], seed: 280) { dropout($0[0], probability: 0.3, active: true, generator: RandomGenerator(seed: 5)) }
        expectParity([[4, 3, 7, 9]], seed: 290) {
            dropout($0[0], probability: 0.3, active: true, channelwise: true, generator: RandomGenerator(seed: 6))
        }
    }
}
