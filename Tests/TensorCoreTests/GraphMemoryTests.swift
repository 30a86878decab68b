import Testing
@testable import TensorCore

/// What a recorded graph keeps alive, when a backward pass frees it, and the BatchNorm+ReLU
/// output that backward recomputes instead of keeping.
@Suite struct GraphMemoryTests {
    /// A weak reference to a tensor's storage: nil once nothing keeps the bytes.
    final class Watch {
        weak var storage: Storage?
        init(_ tensor: Tensor) { storage = tensor.storage }
        var isFreed: Bool { storage == nil }
    }

    static func normal(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor.normal(shape, generator: RandomGenerator(seed: seed))
        t.requiresGrad = true
        return t
    }

    /// add's backward reads only shapes, so its input a is freed after the forward pass even
    /// though the graph is alive; mul's backward reads its inputs, so there a is kept.
    @Test(arguments: [false, true])
    func inputIsKeptOnlyWhenBackwardReadsIt(multiply: Bool) {
        let x = Self.normal([4, 5], seed: 1)
        var watch: Watch!
        let loss: Tensor = {
            let a = x * 2
            watch = Watch(a)
            return (multiply ? a * x : a + x).sum()
        }()
        #expect(watch.isFreed == !multiply)
        loss.backward()
        // d/dx sum(2x + x) = 3; d/dx sum(2x * x) = 4x.
        let expected = multiply ? x.floats().map { 4 * $0 } : [Float](repeating: 3, count: 20)
        #expect(x.grad?.floats() == expected)
    }

    /// Backward releases each node as soon as it has run: when the probe op's backward runs,
    /// the later relu's output (which only that relu's node kept) is already freed, unless the
    /// graph is retained. After the pass, nothing of the graph is left.
    @Test(arguments: [false, true])
    func backwardFreesEachNodeAsItRuns(retainGraph: Bool) {
        let x = Self.normal([3, 4], seed: 2)
        var early: Watch!, late: Watch!
        var lateFreedAtProbe: Bool?
        let loss: Tensor = {
            let a = x.relu()
            early = Watch(a)
            let probe = record(a.detach().clone(), "probe", [a]) { g in
                lateFreedAtProbe = late.isFreed
                return [g]
            }
            let c = probe.relu()
            late = Watch(c)
            return c.sum()
        }()
        #expect(!early.isFreed && !late.isFreed)
        loss.backward(retainGraph: retainGraph)
        #expect(lateFreedAtProbe == !retainGraph)
        #expect(early.isFreed == !retainGraph && late.isFreed == !retainGraph)
        #expect(x.grad?.floats() == x.floats().map { $0 > 0 ? 1 : 0 })
    }

    /// conv -> BatchNorm+ReLU (optionally + residual) -> conv in float32. Without a reference
    /// to the BatchNorm output, it is freed after the forward pass and backward recomputes it
    /// (for the second convolution's weight gradient and BatchNorm's own ReLU mask); with one,
    /// backward reads the kept tensor. The gradients must be the same bits either way. On 6x5
    /// maps with 6 channels, and on 2x2 maps with 8 (BatchNorm's packed-channel kernels,
    /// `PackedChannels`).
    @Test(arguments: [(ConvAlgorithm.im2col, false, false), (.im2col, true, false), (.winograd, false, false), (.winograd, true, false),
                      (.im2col, false, true), (.im2col, true, true)])
    func batchNormReLUOutputIsRecomputedBitForBit(algorithm: ConvAlgorithm, residual: Bool, packed: Bool) {
        let (h, w, mid) = packed ? (2, 2, 8) : (6, 5, 6)
        #expect((PackedChannels.group(inner: h * w, channels: mid) != nil) == packed)
        let x = Self.normal([3, 4, h, w], seed: 3), w1 = Self.normal([mid, 4, 3, 3], seed: 4)
        let w2 = Self.normal([5, mid, 3, 3], seed: 5), w3 = Self.normal([mid, 4, 1, 1], seed: 6)
        let gamma = Self.normal([mid], seed: 7), beta = Self.normal([mid], seed: 8)
        let probe = Tensor.normal([3, 5, h, w], generator: RandomGenerator(seed: 9))
        let parameters = [x, w1, w2, w3, gamma, beta]
        func conv(_ input: Tensor, _ weight: Tensor) -> Tensor {
            let pad = weight.shape[2] / 2
            return convolution(input, weight: weight, bias: nil, stride: (1, 1), padding: (pad, pad), bandBudget: ConvPlan.defaultBandBudget,
                               algorithm: weight.shape[2] == 3 ? algorithm : .im2col)
        }
        func run(hold: Bool) -> (gradients: [[Float]], freed: Bool, kept: [String]) {
            for p in parameters { p.grad = nil }
            var held: Tensor?
            var watch: Watch!
            let loss: Tensor = {
                let h = batchNorm(conv(x, w1), weight: gamma, bias: beta, runningMean: nil, runningVar: nil, training: true, relu: true,
                                  residual: residual ? conv(x, w3) : nil)
                watch = Watch(h)
                if hold { held = h }
                return (conv(h, w2) * probe).sum()
            }()
            let freed = watch.isFreed
            let kept = loss.retainedGraph().map(\.producer)
            loss.backward()
            withExtendedLifetime(held) {}
            return (parameters.map { $0.grad?.floats() ?? [] }, freed, kept)
        }
        let stored = run(hold: true), recomputed = run(hold: false)
        #expect(!stored.freed && recomputed.freed)
        let normName = residual ? "batchNormAddReLU" : "batchNormReLU"
        #expect(!recomputed.kept.contains(normName), "the graph reports \(recomputed.kept)")
        for (name, (a, b)) in zip(["x", "w1", "w2", "w3", "gamma", "beta"], zip(stored.gradients, recomputed.gradients)) {
            #expect(a == b, "\(name) differs between the kept and the recomputed BatchNorm output")
        }
    }

    /// The recompute path against central differences in float64 (the intermediate is not
    /// held, so backward recomputes it), with and without the residual.
    @Test(arguments: [false, true])
    func recomputedPathMatchesFiniteDifferences(residual: Bool) {
        let inputs = [randomInput([2, 3, 4, 4], seed: 10), randomInput([4, 3, 3, 3], seed: 11), randomInput([2, 4, 3, 3], seed: 12),
                      randomInput([4], seed: 13, low: 0.5, high: 1.5), randomInput([4], seed: 14), randomInput([2, 4, 4, 4], seed: 15)]
        expectGradients(inputs) { t in
            let h = batchNorm(conv2d(t[0], weight: t[1], padding: (1, 1)), weight: t[3], bias: t[4], runningMean: nil, runningVar: nil,
                              training: true, relu: true, residual: residual ? t[5] : nil)
            return conv2d(h, weight: t[2], padding: (1, 1))
        }
    }
}
