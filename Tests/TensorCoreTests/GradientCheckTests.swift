import Testing
@testable import TensorCore

func randomInput(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Tensor {
    let t = Tensor.uniform(shape, low: low, high: high, generator: RandomGenerator(seed: seed), dtype: .float64)
    t.requiresGrad = true
    return t
}

/// Asserts that backward() agrees with central differences in float64 (GradientCheck:
/// eps 1e-6, tolerance 1e-6 relative to max(1, |numeric|)).
func expectGradients(_ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    let mismatches = GradientCheck.check(inputs, f)
    #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))", sourceLocation: sourceLocation)
}

@Suite struct ElementwiseGradientTests {
    @Test func arithmeticWithBroadcasting() {
        expectGradients([randomInput([2, 3, 4], seed: 1), randomInput([3, 1], seed: 2)]) {
            ($0[0] + $0[1]) * $0[0] - $0[1] / ($0[0] * $0[0] + 2)
        }
    }

    @Test func unaryFunctions() {
        expectGradients([randomInput([3, 5], seed: 3, low: 0.2, high: 2)]) { x in
            x[0].exp() + x[0].log() + x[0].sqrt() + x[0].tanh() + x[0].pow(1.7) + x[0].sigmoid() + x[0].abs() + 3 / x[0]
        }
    }

    @Test func clampAndMaximum() {
        expectGradients([randomInput([4, 4], seed: 4), randomInput([4, 4], seed: 5)]) { x in
            maximum(x[0], x[1]) + x[0].clamped(min: -0.5, max: 0.5)
        }
    }
}

@Suite struct ReductionAndShapeGradientTests {
    @Test func reductions() {
        expectGradients([randomInput([2, 3, 4], seed: 6)]) { x in
            x[0].sum(axes: [1], keepDims: true) * x[0].mean(axes: [0, 2], keepDims: true) + x[0].variance(axes: [2], keepDims: true, unbiased: true)
        }
        expectGradients([randomInput([3, 5], seed: 7)]) { x in x[0].max(axis: 1).values * 2 + x[0].sum() }
    }

    @Test func reshapingAndPermuting() {
        expectGradients([randomInput([2, 3, 4], seed: 8)]) { x in
            x[0].permuted([2, 0, 1]).reshaped([4, 6]).transposed().flattened(from: 0).unsqueezed(0) * 3
        }
    }

    @Test func joiningCuttingPadding() {
        expectGradients([randomInput([2, 3, 4], seed: 9), randomInput([2, 2, 4], seed: 10)]) { x in
            let joined = Tensor.concat([x[0], x[1]], axis: 1)
            let parts = joined.split(axis: 1, sizes: [1, 4])
            return parts[1].padded([(0, 0), (1, 2), (0, 1)], value: 0.5).slice(axis: 2, 1..<4) * parts[0].sum()
        }
    }

    @Test func flippingAndRolling() {
        expectGradients([randomInput([2, 3, 5], seed: 11)]) { x in
            x[0].flipped([1, 2]).rolled(shifts: [2, -1], axes: [2, 1]) * x[0]
        }
    }

    @Test func broadcastTo() {
        expectGradients([randomInput([3, 1], seed: 12)]) { x in x[0].broadcast(to: [2, 3, 4]) }
    }
}

@Suite struct LinearAlgebraGradientTests {
    @Test func matmulAndLinear() {
        expectGradients([randomInput([3, 4], seed: 13), randomInput([4, 5], seed: 14)]) { $0[0].matmul($0[1]) }
        expectGradients([randomInput([2, 3, 4], seed: 15), randomInput([2, 4, 2], seed: 16)]) { $0[0].matmul($0[1]) }
        expectGradients([randomInput([3, 4], seed: 17), randomInput([5, 4], seed: 18), randomInput([5], seed: 19)]) {
            linear($0[0], weight: $0[1], bias: $0[2])
        }
    }
}

@Suite struct ConvolutionGradientTests {
    @Test(arguments: [(1, 1, 0), (3, 1, 1), (3, 2, 1), (2, 2, 0), (3, 1, 0)])
    func convolution(kernel: Int, stride: Int, padding: Int) {
        let x = randomInput([3, 2, 7, 6], seed: 20), w = randomInput([4, 2, kernel, kernel], seed: 21), b = randomInput([4], seed: 22)
        expectGradients([x, w, b]) { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (stride, stride), padding: (padding, padding)) }
    }

    /// Many images with few positions share one GEMM (the grouped path).
    @Test func groupedImages() {
        let x = randomInput([9, 3, 3, 3], seed: 23), w = randomInput([5, 3, 3, 3], seed: 24)
        expectGradients([x, w]) { conv2d($0[0], weight: $0[1], padding: (1, 1)) }
        expectGradients([x, randomInput([5, 3, 1, 1], seed: 25)]) { conv2d($0[0], weight: $0[1]) }
    }

    /// A large image's column matrix is built a band of output rows at a time; a tiny band
    /// budget forces several bands (the last one short) on a small image. The forward must equal
    /// the whole-image path, and the gradients must check.
    @Test(arguments: [(3, 1, 1, 300), (3, 2, 1, 100), (2, 2, 0, 50)])
    func bandedConvolution(kernel: Int, stride: Int, padding: Int, budget: Int) {
        let x = randomInput([1, 2, 9, 7], seed: 46), w = randomInput([3, 2, kernel, kernel], seed: 47), b = randomInput([3], seed: 48)
        func run(_ t: [Tensor], budget: Int) -> Tensor {
            TensorCore.convolution(t[0], weight: t[1], bias: t[2], stride: (stride, stride), padding: (padding, padding), bandBudget: budget)
        }
        let plan = ConvPlan(geometry: ConvGeometry(channels: 2, height: 9, width: 7, kernel: (kernel, kernel), stride: (stride, stride),
                                                   padding: (padding, padding)), batch: 1, outChannels: 3, bandBudget: budget)
        #expect(plan.banded && plan.bands.count > 1)
        let whole = run([x, w, b], budget: .max), banded = run([x, w, b], budget: budget)
        #expect(zip(whole.doubles(), banded.doubles()).allSatisfy { abs($0 - $1) < 1e-12 })
        expectGradients([x, w, b]) { run($0, budget: budget) }
    }

    @Test func bandedTransposedConvolution() {
        let x = randomInput([1, 3, 5, 4], seed: 49), w = randomInput([3, 2, 4, 4], seed: 50), b = randomInput([2], seed: 51)
        func run(_ t: [Tensor], budget: Int) -> Tensor {
            TensorCore.transposedConvolution(t[0], weight: t[1], bias: t[2], stride: (2, 2), padding: (1, 1), outputPadding: (0, 0),
                                             bandBudget: budget)
        }
        let whole = run([x, w, b], budget: .max), banded = run([x, w, b], budget: 300)
        #expect(zip(whole.doubles(), banded.doubles()).allSatisfy { abs($0 - $1) < 1e-12 })
        expectGradients([x, w, b]) { run($0, budget: 300) }
    }

    @Test(arguments: [(4, 2, 1, 0), (3, 1, 1, 0), (3, 2, 1, 1), (2, 2, 0, 0)])
    func transposedConvolution(kernel: Int, stride: Int, padding: Int, outputPadding: Int) {
        let x = randomInput([3, 3, 4, 3], seed: 26), w = randomInput([3, 2, kernel, kernel], seed: 27), b = randomInput([2], seed: 28)
        expectGradients([x, w, b]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (stride, stride), padding: (padding, padding),
                            outputPadding: (outputPadding, outputPadding))
        }
    }
}

@Suite struct PoolingGradientTests {
    @Test func maxAndAveragePooling() {
        let x = randomInput([2, 3, 7, 6], seed: 29)
        expectGradients([x]) { maxPool2d($0[0], kernel: (2, 2)) }
        expectGradients([x]) { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        expectGradients([x]) { avgPool2d($0[0], kernel: (3, 2), stride: (2, 2)) }
        expectGradients([x]) { adaptiveAvgPool2d($0[0], output: (1, 1)) }
        expectGradients([x]) { adaptiveAvgPool2d($0[0], output: (3, 4)) }
    }

    @Test func upsampling() {
        let x = randomInput([2, 2, 3, 4], seed: 30)
        expectGradients([x]) { upsample($0[0], size: (6, 8), mode: .nearest) }
        expectGradients([x]) { upsample($0[0], size: (7, 5), mode: .bilinear) }
    }
}

@Suite struct NormalizationGradientTests {
    @Test(arguments: [true, false])
    func batchNormalization(training: Bool) {
        let x = randomInput([4, 3, 2, 3], seed: 31), gamma = randomInput([3], seed: 32), beta = randomInput([3], seed: 33)
        let mean = Tensor.uniform([3], low: -0.5, high: 0.5, generator: RandomGenerator(seed: 34), dtype: .float64)
        let variance = Tensor.uniform([3], low: 0.5, high: 2, generator: RandomGenerator(seed: 35), dtype: .float64)
        expectGradients([x, gamma, beta]) {
            batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: mean, runningVar: variance, training: training, momentum: 0.1)
        }
        expectGradients([randomInput([5, 4], seed: 36)]) {
            batchNorm($0[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
        }
        // Fused batch norm + ReLU (one graph node whose backward masks by the output).
        expectGradients([x, gamma, beta]) {
            batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: mean, runningVar: variance, training: training, relu: true)
        }
    }

    @Test func groupNormalization() {
        let x = randomInput([2, 4, 3, 3], seed: 37)
        expectGradients([x, randomInput([4], seed: 38), randomInput([4], seed: 39)]) { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        expectGradients([x]) { groupNorm($0[0], groups: 4) }
    }

    /// Continual Normalization: group norm without affine, then batch norm.
    @Test func continualNormalization() {
        expectGradients([randomInput([3, 4, 2, 2], seed: 40), randomInput([4], seed: 41)]) {
            batchNorm(groupNorm($0[0], groups: 2), weight: $0[1], bias: nil, runningMean: nil, runningVar: nil, training: true)
        }
    }
}

@Suite struct ActivationGradientTests {
    @Test func reluSoftmaxLogSoftmax() {
        let x = randomInput([3, 4, 2], seed: 42)
        expectGradients([x]) { $0[0].relu() }
        expectGradients([x]) { $0[0].softmax(axis: 1) }
        expectGradients([x]) { $0[0].logSoftmax(axis: 1) }
        expectGradients([randomInput([3, 5], seed: 43)]) { $0[0].l2Normalized(axis: 1) }
    }

    @Test func dropoutWithAFixedMask() {
        expectGradients([randomInput([4, 3, 2, 2], seed: 44)]) { dropout($0[0], probability: 0.4, active: true, generator: RandomGenerator(seed: 1)) }
        expectGradients([randomInput([4, 3, 2, 2], seed: 45)]) {
            dropout($0[0], probability: 0.5, active: true, channelwise: true, generator: RandomGenerator(seed: 2))
        }
    }
}

@Suite struct LossGradientTests {
    @Test func crossEntropies() {
        let logits = randomInput([4, 3], seed: 46)
        expectGradients([logits]) { crossEntropy($0[0], targets: [0, 2, 1, 2]) }
        expectGradients([logits]) { crossEntropy($0[0], targets: [0, 2, 1, 2], weights: [0.5, 2, 1]) }
        let soft = Tensor.uniform([4, 3], low: 0, high: 1, generator: RandomGenerator(seed: 47), dtype: .float64)
        expectGradients([logits]) { crossEntropy($0[0], softTargets: soft, weights: [1, 2, 3]) }
        let pixels = randomInput([2, 3, 2, 2], seed: 48)
        expectGradients([pixels]) { crossEntropy($0[0], targets: [0, 1, 2, 0, 2, 2, 1, 0], weights: [1, 0.5, 2]) }
    }

    @Test func distillationAndEmbeddings() {
        // The teacher is a fixed target: no gradient flows into it (checked below).
        let student = randomInput([3, 4], seed: 49), teacher = randomInput([3, 4], seed: 50)
        expectGradients([student]) { distillationLoss(student: $0[0], teacher: teacher, temperature: 2) }
        teacher.grad = nil
        distillationLoss(student: student, teacher: teacher, temperature: 2).backward()
        #expect(teacher.grad == nil)
        let a = randomInput([3, 5], seed: 51), b = randomInput([3, 5], seed: 52)
        expectGradients([a, b]) { cosineEmbeddingLoss($0[0], $0[1], targets: [1, -1, 1], margin: -0.9) }
        expectGradients([randomInput([4], seed: 53), randomInput([4], seed: 54)]) {
            marginRankingLoss($0[0], $0[1], targets: [1, -1, 1, 1], margin: 0.3)
        }
    }

    @Test func imagePriorsAndDice() {
        let x = randomInput([2, 2, 4, 5], seed: 55)
        expectGradients([x]) { totalVariation($0[0]).l2 + totalVariation($0[0]).l1 }
        expectGradients([x]) { meanL2Norm($0[0]) + meanSquaredError($0[0], $0[0] * 0.5) }
        let target = Tensor.uniform([2, 2, 4, 5], low: 0, high: 1, generator: RandomGenerator(seed: 56), dtype: .float64)
        expectGradients([x]) { softDiceLoss(probabilities: $0[0].softmax(axis: 1), targets: target) }
    }
}
