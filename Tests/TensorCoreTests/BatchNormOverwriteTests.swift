import Testing
@testable import TensorCore

/// batchNorm(overwrite:) writes into x's memory only where nothing is recorded, and its values
/// are those of the ordinary call.
@Suite struct BatchNormOverwriteTests {
    static func statistics(_ channels: Int, seed: UInt64) -> (Tensor, Tensor, Tensor, Tensor) {
        let generator = RandomGenerator(seed: seed)
        return (Tensor.uniform([channels], low: 0.5, high: 1.5, generator: generator),
                Tensor.uniform([channels], low: -0.5, high: 0.5, generator: generator),
                Tensor.uniform([channels], low: -0.5, high: 0.5, generator: generator),
                Tensor.uniform([channels], low: 0.5, high: 2, generator: generator))
    }

    /// Evaluation under no-grad, with ReLU and with a residual: the result is x itself (same
    /// storage), equal bit for bit to the call without `overwrite` on a copy of x.
    @Test(arguments: [false, true])
    func evaluationOverwritesInPlace(residual withResidual: Bool) {
        let (gamma, beta, mean, variance) = Self.statistics(4, seed: 90)
        let x = Tensor.normal([3, 4, 5, 6], generator: RandomGenerator(seed: 91))
        let residual = withResidual ? Tensor.normal([3, 4, 5, 6], generator: RandomGenerator(seed: 92)) : nil
        let reference = Autograd.withNoGrad {
            batchNorm(x.clone(), weight: gamma, bias: beta, runningMean: mean, runningVar: variance, training: false, relu: true,
                      residual: residual)
        }
        let y = Autograd.withNoGrad {
            batchNorm(x, weight: gamma, bias: beta, runningMean: mean, runningVar: variance, training: false, relu: true,
                      residual: residual, overwrite: true)
        }
        #expect(y === x)
        #expect(y.floats() == reference.floats())
    }

    /// Training statistics are taken before any value is overwritten: the batch mean and
    /// variance, and the running statistics' update, match the ordinary call's.
    @Test func trainingStatisticsUnderNoGrad() {
        let (gamma, beta, _, _) = Self.statistics(3, seed: 93)
        let x = Tensor.normal([4, 3, 7, 7], generator: RandomGenerator(seed: 94))
        let mean1 = Tensor.zeros([3]), variance1 = Tensor.ones([3]), mean2 = Tensor.zeros([3]), variance2 = Tensor.ones([3])
        let reference = Autograd.withNoGrad {
            batchNorm(x.clone(), weight: gamma, bias: beta, runningMean: mean1, runningVar: variance1, training: true)
        }
        let y = Autograd.withNoGrad {
            batchNorm(x, weight: gamma, bias: beta, runningMean: mean2, runningVar: variance2, training: true, overwrite: true)
        }
        #expect(y === x && y.floats() == reference.floats())
        #expect(mean1.floats() == mean2.floats() && variance1.floats() == variance2.floats())
    }

    /// While recording (an input needs a gradient), the backward pass reads x: `overwrite` is
    /// ignored, x keeps its values, and the gradient is the ordinary one.
    @Test func recordingKeepsTheInput() {
        let (gamma, beta, mean, variance) = Self.statistics(2, seed: 95)
        let x = Tensor.normal([2, 2, 3, 3], generator: RandomGenerator(seed: 96))
        let before = x.floats()
        gamma.requiresGrad = true
        let y = batchNorm(x, weight: gamma, bias: beta, runningMean: mean, runningVar: variance, training: false, relu: true,
                          overwrite: true)
        #expect(y !== x && x.floats() == before)
        y.sum().backward()
        let overwritten = gamma.grad!.floats()
        gamma.grad = nil
        batchNorm(x, weight: gamma, bias: beta, runningMean: mean, runningVar: variance, training: false, relu: true).sum().backward()
        #expect(overwritten == gamma.grad!.floats())
    }
}
