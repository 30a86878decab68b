@testable import NeuralNet
import Testing
import TensorCore

/// Evaluation under no-grad normalises a convolution's fresh output in place
/// (`normalizedReLU(_:overwriting:)`); a forward hook on the convolution must still see the
/// convolution's own output, and the block's result must not change.
@Suite struct InPlaceNormalizationTests {
    static func block() -> ConvBNReLU {
        NeuralNetRandom.seed(3)
        let block = ConvBNReLU(2, 3)
        block.bn.running_mean.value.copyElements(from: Tensor.uniform([3], low: -0.5, high: 0.5, generator: RandomGenerator(seed: 4)))
        block.bn.running_var.value.copyElements(from: Tensor.uniform([3], low: 0.5, high: 2, generator: RandomGenerator(seed: 5)))
        block.eval()
        return block
    }

    /// The block's output equals conv, then BatchNorm, then ReLU computed step by step.
    @Test func matchesTheComposition() {
        let block = Self.block()
        let x = Tensor.normal([2, 2, 6, 6], generator: RandomGenerator(seed: 6))
        let fused = Autograd.withNoGrad { block(x) }
        let composed = Autograd.withNoGrad { block.bn(block.conv(x)).relu() }
        #expect(fused.floats() == composed.floats())
    }

    /// A hook on the convolution keeps its output: the block then normalises a copy.
    @Test func hookedConvolutionKeepsItsOutput() {
        let block = Self.block()
        let x = Tensor.normal([2, 2, 6, 6], generator: RandomGenerator(seed: 7))
        let expected = Autograd.withNoGrad { block.conv(x) }.floats()
        var captured: Tensor?
        block.conv.addForwardHook { _, _, output in captured = output }
        let y = Autograd.withNoGrad { block(x) }
        #expect(captured !== y)
        #expect(captured?.floats() == expected)
    }
}
