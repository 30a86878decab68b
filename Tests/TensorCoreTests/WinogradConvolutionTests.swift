import Testing
@testable import TensorCore

/// Winograd F(2x2, 3x3) and F(4x4, 3x3) against the im2col path (itself checked against finite differences and
/// the PyTorch goldens) and against finite differences directly, in float64; and its float32
/// error against a float64 reference.
@Suite struct WinogradConvolutionTests {
    func run(_ t: [Tensor], _ algorithm: ConvAlgorithm) -> Tensor {
        convolution(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, stride: (1, 1), padding: (1, 1),
                    bandBudget: ConvPlan.defaultBandBudget, algorithm: algorithm)
    }

    /// Finite differences through the Winograd path: odd and even sizes (partial tiles on the
    /// right and bottom edges), a 1-pixel-wide image, and a bias.
    @Test(arguments: [[2, 3, 5, 6], [1, 2, 4, 4], [2, 2, 3, 1], [1, 2, 9, 7]], [ConvAlgorithm.winograd, .winograd4])
    func gradients(shape: [Int], algorithm: ConvAlgorithm) {
        let x = randomInput(shape, seed: 60), w = randomInput([4, shape[1], 3, 3], seed: 61), b = randomInput([4], seed: 62)
        expectGradients([x, w, b]) { run($0, algorithm) }
    }

    /// Output, input gradient and weight gradient equal the im2col path's in float64 (to
    /// rounding, 1e-12 relative), with units of `columns` tiles: several per thread, units that
    /// end inside an image and units that span images; odd image sizes; rows of tiles that the
    /// transforms take 8, 4, 2 and 1 at a time (2x2 tiles, widths 33, 12, 14, 8, 4: 17 = 8 + 8 + 1,
    /// 6 = 4 + 2, 7 = 4 + 2 + 1, 4 and 2 tiles; 4x4 tiles, widths 33, 24, 14, 12, 8: 9 = 8 + 1,
    /// 6 = 4 + 2, 4 with a partial last, 3 = 2 + 1, 2); and the default units at batch 64, where
    /// the forward pass and the weight gradient cut different units.
    static let unitCases: [([Int], Int?)] = [([40, 3, 9, 7], 12), ([3, 17, 30, 33], 64), ([64, 20, 2, 2], 5), ([5, 4, 6, 6], nil),
                                            ([3, 5, 8, 12], nil), ([2, 6, 9, 14], 9), ([4, 7, 8, 8], nil), ([6, 16, 4, 4], 3),
                                            ([2, 5, 11, 24], 4), ([64, 48, 8, 8], nil)]

    @Test(arguments: unitCases, [2, 4])
    func matchesIm2col(unitCase: ([Int], Int?), tile: Int) {
        let (shape, columns) = unitCase
        let out = 18
        let x = randomInput(shape, seed: 63), w = randomInput([out, shape[1], 3, 3], seed: 64), b = randomInput([out], seed: 65)
        let probe = randomInput([shape[0], out, shape[2], shape[3]], seed: 66)
        let geometry = ConvGeometry(channels: shape[1], height: shape[2], width: shape[3], kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        let plan = WinogradPlan(geometry: geometry, batch: shape[0], outChannels: out, tile: tile, unitColumns: columns)
        func evaluate(_ algorithm: ConvAlgorithm) -> [[Double]] {
            for t in [x, w, b] { t.grad = nil }
            let y = algorithm == .winograd
                ? winogradConvolution(x, weight: w, bias: b, geometry: geometry, tile: tile, unitColumns: columns)
                : run([x, w, b], algorithm)
            (y * probe).sum().backward()
            return [y.doubles(), x.grad!.doubles(), w.grad!.doubles(), b.grad!.doubles()]
        }
        let winograd = evaluate(.winograd), reference = evaluate(.im2col)
        for (name, (a, r)) in zip(["output", "input gradient", "weight gradient", "bias gradient"], zip(winograd, reference)) {
            let scale = r.map(abs).max() ?? 1
            let error = zip(a, r).map { abs($0 - $1) }.max() ?? 0
            #expect(error <= 1e-12 * max(scale, 1), "\(name): max error \(error) at scale \(scale)")
        }
        if columns != nil && tile == 2 { #expect(plan.tileRows > 2 * plan.rowsPerUnit, "shape \(shape) should span several units per thread") }
        if columns == nil && shape[0] == 64 {
            // The default units: the forward pass's and the weight gradient's differ, and both
            // passes run several.
            #expect(plan.rowsPerUnit != plan.gradientRowsPerUnit && plan.tileRows > plan.gradientRowsPerUnit, "shape \(shape), tile \(tile)")
        }
    }

    /// Default unit sizes, expected values worked by hand from the rule in `WinogradPlan.init`:
    /// fit = 262144 / (positions (C + O)) tiles, the floor min(256, 65536 / (C + O)) (32 for
    /// the forward pass on maps of 16 tiles or fewer with C + O <= 256), whole rows of tiles,
    /// one row less where the tile count would be a power of two from 64 up.
    @Test func unitSizes() {
        func plan(_ channels: Int, _ side: Int, batch: Int, tile: Int) -> WinogradPlan {
            WinogradPlan(geometry: ConvGeometry(channels: channels, height: side, width: side, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
                         batch: batch, outChannels: channels, tile: tile)
        }
        // 16x16, 64 -> 64, 4x4 tiles (16 an image): fit 262144 / (36 * 128) = 56 = 14 rows of 4; the
        // weight gradient's floor 256 = 64 rows, a power of two, so 63.
        let resnet = plan(64, 16, batch: 64, tile: 4)
        #expect(resnet.rowsPerUnit == 14 && resnet.gradientRowsPerUnit == 63)
        // 8x8, 128 -> 128 (4 tiles an image): fit 28, the small-map floor 32 = 16 rows of 2; gradient 256 -> 127.
        let deeper = plan(128, 8, batch: 64, tile: 4)
        #expect(deeper.rowsPerUnit == 16 && deeper.gradientRowsPerUnit == 127)
        // 56x56 (196 tiles an image), 128 -> 128: floor 256 = 18 rows of 14 (252 tiles) for both.
        let large = plan(128, 56, batch: 32, tile: 4)
        #expect(large.rowsPerUnit == 18 && large.gradientRowsPerUnit == 18)
        // 4x4, 256 -> 256, 2x2 tiles: C + O = 512, not a small-map case; floor 128 = 64 rows of 2 -> 63.
        let wide = plan(256, 4, batch: 64, tile: 2)
        #expect(wide.rowsPerUnit == 63 && wide.gradientRowsPerUnit == 63)
        #expect(WinogradPlan.unitRows(columns: 100, tilesW: 4) == 25)
        #expect(WinogradPlan.unitRows(columns: 32, tilesW: 2) == 16)
        #expect(WinogradPlan.unitRows(columns: 64, tilesW: 64) == 1)
        // Even units, as few as hold the rows (worked by hand: ceil(64 / 63) = 2 units of 32, not
        // 63 + 1; ceil(128 / 63) = 3, cut at 128 / 3 = 42 and 256 / 3 = 85; a thread's second
        // half, 64 rows in ceil(64 / 14) = 5 units cut at 12, 25, 38, 51 past its start).
        #expect(WinogradPlan.units(of: 0..<64, most: 63) == [0..<32, 32..<64])
        #expect(WinogradPlan.units(of: 0..<128, most: 63) == [0..<42, 42..<85, 85..<128])
        #expect(WinogradPlan.units(of: 64..<128, most: 14) == [64..<76, 76..<89, 89..<102, 102..<115, 115..<128])
        #expect(WinogradPlan.units(of: 0..<10, most: 16) == [0..<10])
        #expect(WinogradPlan.units(of: 5..<5, most: 16).isEmpty)
    }

    /// conv2d takes a Winograd path by itself for 16+ channels on maps of 4x4 or more (bit-identical
    /// to forcing it): 4x4 tiles where they compute at most 1.6x the outputs (7x7: 64 for 49;
    /// 13x14: 256 for 182) and the batch has 128 of them, 2x2 tiles where those waste at most
    /// 25% (6x6: 4x4 tiles would compute 64 for 36; 8x8 at batch 8: 32 4x4 tiles), im2col
    /// otherwise (5x5: 64 and 36 for 25).
    @Test func automaticChoice() {
        let x = Tensor.uniform([2, 16, 6, 6], low: -1, high: 1, generator: RandomGenerator(seed: 67))
        let w = Tensor.uniform([16, 16, 3, 3], low: -1, high: 1, generator: RandomGenerator(seed: 68))
        #expect(conv2d(x, weight: w, padding: (1, 1)).floats() == run([x, w], .winograd).floats())
        let large = Tensor.uniform([8, 16, 16, 16], low: -1, high: 1, generator: RandomGenerator(seed: 69))
        #expect(conv2d(large, weight: w, padding: (1, 1)).floats() == run([large, w], .winograd4).floats())
        func tile(_ channels: Int, _ height: Int, _ width: Int, batch: Int = 64) -> Int? {
            WinogradPlan.preferredTile(ConvGeometry(channels: channels, height: height, width: width, kernel: (3, 3), stride: (1, 1),
                                                    padding: (1, 1)), batch: batch, outChannels: 16)
        }
        #expect(tile(16, 6, 6) == 2)
        #expect(tile(3, 6, 6) == nil)
        for (height, width) in [(3, 8), (2, 2), (5, 5)] { #expect(tile(16, height, width) == nil, "\(height)x\(width)") }
        for (height, width) in [(7, 7), (13, 14), (8, 8), (16, 16), (112, 112)] {
            #expect(tile(16, height, width) == 4, "\(height)x\(width)")
        }
        #expect(tile(16, 8, 8, batch: 8) == 2)
        #expect(tile(16, 4, 4) == 2)
        #expect(tile(16, 4, 4, batch: 128) == 4)
    }
}

/// The float32 error of the Winograd paths and im2col against a float64 reference, on a layer
/// shaped like the nets' (64 -> 64 channels, 16x16, inputs in [-1, 1], PyTorch's default
/// weight scale): the largest absolute error of the output, input gradient and weight gradient
/// over the largest reference magnitude. Measured (release build, 2 threads): F(2x2) output
/// 3.5e-7, input gradient 3.7e-7, weight gradient 6.3e-7; F(4x4) 6.4e-6, 6.9e-6, 3.6e-6 (its
/// transform entries reach 8 and 1/24); im2col 6.2e-7, 1.8e-7, 3.1e-7. The bounds, 1e-6 and
/// 1e-5 for F(4x4), are about 1.5x the largest measurement of each.
@Suite struct WinogradPrecisionTests {
    func relativeErrors(_ algorithm: ConvAlgorithm) -> [Double] {
        let generator = RandomGenerator(seed: 70)
        let x64 = Tensor.uniform([4, 64, 16, 16], low: -1, high: 1, generator: generator, dtype: .float64)
        let bound = 1 / (64.0 * 9).squareRoot()
        let w64 = Tensor.uniform([64, 64, 3, 3], low: -bound, high: bound, generator: generator, dtype: .float64)
        let probe64 = Tensor.uniform([4, 64, 16, 16], low: -1, high: 1, generator: generator, dtype: .float64)
        func evaluate(_ x: Tensor, _ w: Tensor, _ probe: Tensor, _ algorithm: ConvAlgorithm) -> [[Double]] {
            x.requiresGrad = true; w.requiresGrad = true
            let y = convolution(x, weight: w, bias: nil, stride: (1, 1), padding: (1, 1), bandBudget: ConvPlan.defaultBandBudget,
                                algorithm: algorithm)
            (y * probe).sum().backward()
            return [y.doubles(), x.grad!.doubles(), w.grad!.doubles()]
        }
        let reference = evaluate(x64, w64, probe64, .im2col)
        let single = evaluate(x64.detach().to(.float32), w64.detach().to(.float32), probe64.to(.float32), algorithm)
        return zip(single, reference).map { a, r in
            (zip(a, r).map { abs($0 - $1) }.max() ?? 0) / (r.map(abs).max() ?? 1)
        }
    }

    @Test func float32ErrorAgainstFloat64() {
        let winograd = relativeErrors(.winograd), winograd4 = relativeErrors(.winograd4), im2col = relativeErrors(.im2col)
        print("float32 relative error (output, dx, dw): Winograd F(2x2) \(winograd), F(4x4) \(winograd4), im2col \(im2col)")
        for (name, error) in zip(["output", "input gradient", "weight gradient"], winograd) {
            #expect(error < 1e-6, "Winograd F(2x2) \(name): relative error \(error)")
        }
        for (name, error) in zip(["output", "input gradient", "weight gradient"], winograd4) {
            #expect(error < 1e-5, "Winograd F(4x4) \(name): relative error \(error)")
        }
        for (name, error) in zip(["output", "input gradient", "weight gradient"], im2col) {
            #expect(error < 1e-6, "im2col \(name): relative error \(error)")
        }
    }
}
