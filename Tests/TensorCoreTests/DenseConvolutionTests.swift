import Testing
@testable import TensorCore

/// A convolution case for the dense path: input shape, output channels, kernel, stride, padding,
/// bias.
struct DenseCase: CustomStringConvertible, Sendable {
    let shape: [Int], out: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), bias: Bool
    var description: String { "x \(shape) -> \(out), kernel \(kernel), stride \(stride), padding \(padding), bias \(bias)" }

    var geometry: ConvGeometry {
        ConvGeometry(channels: shape[1], height: shape[2], width: shape[3], kernel: kernel, stride: stride, padding: padding)
    }
}

/// Maps of 2x2, 1x1, 3x3 and 2x3; stride 1 and 2; padding 0 and 1; with and without bias; batch
/// 1 and 5; kernels 3x3, 2x2 and 1x3.
let denseCases: [DenseCase] = [
    DenseCase(shape: [5, 6, 3, 3], out: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: true),
    DenseCase(shape: [5, 6, 2, 2], out: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: true),
    DenseCase(shape: [1, 6, 2, 2], out: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: false),
    DenseCase(shape: [5, 4, 1, 1], out: 5, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: true),
    DenseCase(shape: [5, 3, 3, 3], out: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1), bias: false),
    DenseCase(shape: [1, 3, 3, 3], out: 4, kernel: (3, 3), stride: (1, 1), padding: (0, 0), bias: true),
    DenseCase(shape: [5, 5, 2, 2], out: 3, kernel: (2, 2), stride: (1, 1), padding: (0, 0), bias: true),
    DenseCase(shape: [5, 4, 2, 3], out: 6, kernel: (3, 3), stride: (2, 1), padding: (1, 1), bias: false),
    DenseCase(shape: [5, 4, 2, 2], out: 3, kernel: (1, 3), stride: (1, 1), padding: (0, 1), bias: true),
]

/// The dense path against the im2col path (itself checked against finite differences and the
/// PyTorch goldens) in float64 and float32, against finite differences directly, and for run-to-run
/// determinism; and the automatic choice.
@Suite struct DenseConvolutionTests {
    /// Output, input, weight and bias gradients of `sum(conv(x) * probe)` by one path; `budget`
    /// forces blocks of tap matrices of at most that many values (several blocks per thread),
    /// three threads unequal chunks.
    func evaluate(_ c: DenseCase, _ algorithm: ConvAlgorithm, dtype: DType, budget: Int? = nil) -> [[Double]] {
        let generator = RandomGenerator(seed: 80)
        let x = Tensor.uniform(c.shape, low: -1, high: 1, generator: generator, dtype: .float64).to(dtype)
        let w = Tensor.uniform([c.out, c.shape[1], c.kernel.0, c.kernel.1], low: -1, high: 1, generator: generator,
                               dtype: .float64).to(dtype)
        let b = Tensor.uniform([c.out], low: -1, high: 1, generator: generator, dtype: .float64).to(dtype)
        let g = c.geometry
        let probe = Tensor.uniform([c.shape[0], c.out, g.outH, g.outW], low: -1, high: 1, generator: generator,
                                   dtype: .float64).to(dtype)
        for t in [x, w, b] { t.requiresGrad = true }
        return Parallel.withThreads(3) {
            let y = algorithm == .dense
                ? denseConvolution(x, weight: w, bias: c.bias ? b : nil, geometry: g, blockBudget: budget ?? DensePlan.defaultBlockBudget)
                : convolution(x, weight: w, bias: c.bias ? b : nil, stride: c.stride, padding: c.padding,
                              bandBudget: ConvPlan.defaultBandBudget, algorithm: algorithm)
            (y * probe).sum().backward()
            return [y.doubles(), x.grad!.doubles(), w.grad!.doubles()] + (c.bias ? [b.grad!.doubles()] : [])
        }
    }

    /// Largest absolute difference per result, over max(1, largest reference magnitude).
    func errors(_ a: [[Double]], _ reference: [[Double]]) -> [Double] {
        zip(a, reference).map { a, r in
            (zip(a, r).map { abs($0 - $1) }.max() ?? 0) / max(1, r.map(abs).max() ?? 0)
        }
    }

    /// float64: equal to the im2col path to rounding (1e-12 relative; measured at most 6e-16),
    /// with the default blocks and with blocks of one channel (a budget of 40 values).
    @Test(arguments: denseCases)
    func matchesIm2colFloat64(_ c: DenseCase) {
        let reference = evaluate(c, .im2col, dtype: .float64)
        for budget in [nil, 40] {
            let dense = evaluate(c, .dense, dtype: .float64, budget: budget)
            for (name, error) in zip(["output", "input gradient", "weight gradient", "bias gradient"], errors(dense, reference)) {
                #expect(error <= 1e-12, "\(c), budget \(budget.map(String.init) ?? "default"): \(name) error \(error)")
            }
        }
    }

    /// float32: within 1e-6 of the im2col path relative to the largest magnitude (each path's own
    /// rounding; measured at most 1.5e-7 on these cases: output 1.5e-7, input gradient 9.2e-8,
    /// weight gradient 1.4e-7, bias gradient 0; release build).
    @Test(arguments: denseCases)
    func matchesIm2colFloat32(_ c: DenseCase) {
        let reference = evaluate(c, .im2col, dtype: .float32), dense = evaluate(c, .dense, dtype: .float32, budget: 40)
        for (name, error) in zip(["output", "input gradient", "weight gradient", "bias gradient"], errors(dense, reference)) {
            #expect(error <= 1e-6, "\(c): \(name) error \(error)")
        }
    }

    /// Central finite differences of dx, dw and the bias gradient through the dense path
    /// (`GradientCheck`, float64, tolerance 1e-6).
    @Test(arguments: [denseCases[0], denseCases[3], denseCases[6], denseCases[7]])
    func gradients(_ c: DenseCase) {
        let x = randomInput(c.shape, seed: 81), w = randomInput([c.out, c.shape[1], c.kernel.0, c.kernel.1], seed: 82)
        let b = randomInput([c.out], seed: 83)
        expectGradients([x, w, b]) { t in
            denseConvolution(t[0], weight: t[1], bias: t[2], geometry: c.geometry, blockBudget: 40)
        }
    }

    /// Two runs (threads split the channels, several blocks each) give the same bits.
    @Test func deterministic() {
        let c = DenseCase(shape: [9, 24, 2, 2], out: 20, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: true)
        let first = evaluate(c, .dense, dtype: .float32, budget: 1000), second = evaluate(c, .dense, dtype: .float32, budget: 1000)
        #expect(first == second)
    }

    /// conv2d takes the dense path by itself for ResNet-18's 512-channel 2x2 layer at batch 64,
    /// for 1x1 maps and for 3x3 maps at batch 64 (49 connected pairs against 81 products), not
    /// for 4x4 or 16x16 maps (larger than the kernel), nor for a 2x2 map at batch 16 or a 3x3
    /// map at batch 8 (copying the tap matrices would cost more than the multiplications saved), nor with
    /// 8 channels (`ConvAlgorithm.resolved`, which `convolution` switches on); and conv2d's
    /// result is then the forced dense path's, bit for bit.
    @Test func automaticChoice() {
        func geometry(_ channels: Int, _ size: Int) -> ConvGeometry {
            ConvGeometry(channels: channels, height: size, width: size, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        }
        #expect(DensePlan.preferred(geometry(512, 2), batch: 64, outChannels: 512))
        #expect(DensePlan.preferred(geometry(256, 1), batch: 64, outChannels: 256))
        #expect(!DensePlan.preferred(geometry(512, 16), batch: 64, outChannels: 512))
        #expect(DensePlan.preferred(geometry(512, 3), batch: 64, outChannels: 512))
        #expect(!DensePlan.preferred(geometry(512, 3), batch: 8, outChannels: 512))
        #expect(!DensePlan.preferred(geometry(512, 4), batch: 64, outChannels: 512))
        #expect(!DensePlan.preferred(geometry(512, 2), batch: 16, outChannels: 512))
        #expect(DensePlan.preferred(geometry(256, 1), batch: 6, outChannels: 256))
        #expect(!DensePlan.preferred(geometry(8, 2), batch: 64, outChannels: 8))
        #expect(DensePlan.preferred(geometry(16, 2), batch: 40, outChannels: 16), "the PyTorch golden layer_conv2d_tiny_map runs this path")
        #expect(ConvAlgorithm.automatic.resolved(geometry(512, 2), batch: 64, outChannels: 512) == .dense)
        #expect(ConvAlgorithm.automatic.resolved(geometry(512, 16), batch: 64, outChannels: 512) == .winograd4)
        #expect(ConvAlgorithm.automatic.resolved(geometry(512, 2), batch: 16, outChannels: 512) == .im2col)
        #expect(ConvAlgorithm.im2col.resolved(geometry(512, 2), batch: 64, outChannels: 512) == .im2col)
        let x = Tensor.uniform([40, 16, 2, 2], low: -1, high: 1, generator: RandomGenerator(seed: 84))
        let w = Tensor.uniform([16, 16, 3, 3], low: -1, high: 1, generator: RandomGenerator(seed: 85))
        let forced = convolution(x, weight: w, bias: nil, stride: (1, 1), padding: (1, 1), bandBudget: ConvPlan.defaultBandBudget,
                                 algorithm: .dense)
        #expect(conv2d(x, weight: w, padding: (1, 1)).floats() == forced.floats())
    }
}
