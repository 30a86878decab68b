import Testing
@testable import TensorCore

/// batchNorm(x, residual: r) = relu(batchNorm(x) + r) in one node (a residual block's end).
@Suite struct FusedResidualTests {
    /// Finite differences in float64 for x, the affine parameters and the residual, in training
    /// and evaluation.
    @Test(arguments: [true, false])
    func gradients(training: Bool) {
        let x = randomInput([4, 3, 2, 3], seed: 80), gamma = randomInput([3], seed: 81), beta = randomInput([3], seed: 82)
        let residual = randomInput([4, 3, 2, 3], seed: 83)
        let mean = Tensor.uniform([3], low: -0.5, high: 0.5, generator: RandomGenerator(seed: 84), dtype: .float64)
        let variance = Tensor.uniform([3], low: 0.5, high: 2, generator: RandomGenerator(seed: 85), dtype: .float64)
        expectGradients([x, gamma, beta, residual]) {
            batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: mean, runningVar: variance, training: training,
                      residual: $0[3])
        }
    }

    /// In float32 (the SIMD kernels), the fused op equals the unfused composition: the output
    /// bit for bit (the same operations in the same order), the gradients to 1e-6 relative.
    @Test func matchesComposition() {
        let generator = RandomGenerator(seed: 86)
        let x = Tensor.normal([5, 4, 7, 9], generator: generator), residual = Tensor.normal([5, 4, 7, 9], generator: generator)
        let gamma = Tensor.uniform([4], low: 0.5, high: 1.5, generator: generator), beta = Tensor.uniform([4], low: -0.5, high: 0.5, generator: generator)
        let probe = Tensor.normal([5, 4, 7, 9], generator: generator)
        func run(fused: Bool) -> [[Float]] {
            for t in [x, residual, gamma, beta] { t.grad = nil; t.requiresGrad = true }
            let y = fused
                ? batchNorm(x, weight: gamma, bias: beta, runningMean: nil, runningVar: nil, training: true, residual: residual)
                : (batchNorm(x, weight: gamma, bias: beta, runningMean: nil, runningVar: nil, training: true) + residual).relu()
            (y * probe).sum().backward()
            return [y.floats(), x.grad!.floats(), residual.grad!.floats(), gamma.grad!.floats(), beta.grad!.floats()]
        }
        let fused = run(fused: true), composed = run(fused: false)
        #expect(fused[0] == composed[0])
        for (name, (a, b)) in zip(["dx", "dresidual", "dgamma", "dbeta"], zip(fused.dropFirst(), composed.dropFirst())) {
            let error = zip(a, b).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0
            #expect(error < 1e-6, "\(name): \(error)")
        }
    }
}
