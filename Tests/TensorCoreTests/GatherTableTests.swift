import Testing
@testable import TensorCore

/// The gather-table unfold and fold (`GatherTable`) against the row-walking `im2col` and
/// `col2im` of `ConvGeometry` (themselves checked by finite differences on banded plans), and
/// against a direct definition of the column matrix.
@Suite struct GatherTableTests {
    /// Geometries of the nets: 3x3 at stride 1 and 2, the 7x7 stride-2 stem, a 1x1 stride-2
    /// shortcut, a 4x4 stride-2 transposed convolution's (explicit output size), odd sizes; at
    /// stride 1 (unfolded by row copies) the small CNN's 3-channel 28x28 input layer and rows
    /// of one output.
    static let geometries: [ConvGeometry] = [
        ConvGeometry(channels: 3, height: 7, width: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        ConvGeometry(channels: 2, height: 9, width: 6, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        ConvGeometry(channels: 1, height: 13, width: 12, kernel: (7, 7), stride: (2, 2), padding: (3, 3)),
        ConvGeometry(channels: 4, height: 8, width: 8, kernel: (1, 1), stride: (2, 2), padding: (0, 0)),
        ConvGeometry(channels: 3, height: 10, width: 10, kernel: (4, 4), stride: (2, 2), padding: (1, 1), outputSize: (5, 5)),
        ConvGeometry(channels: 2, height: 5, width: 3, kernel: (2, 3), stride: (1, 2), padding: (0, 1)),
        ConvGeometry(channels: 3, height: 28, width: 28, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        ConvGeometry(channels: 2, height: 3, width: 2, kernel: (2, 2), stride: (1, 1), padding: (1, 0)),
    ]

    static func image(_ g: ConvGeometry) -> [Float] {
        let generator = RandomGenerator(seed: 91)
        return (0..<g.imageSize).map { _ in Float(generator.uniform(-1, 1)) }
    }

    /// col[(c, kh, kw), (oh, ow)] = x[c, oh*SH - PH + kh, ow*SW - PW + kw], zero outside.
    static func definition(_ g: ConvGeometry, _ x: [Float]) -> [Float] {
        var col = [Float](repeating: .nan, count: g.patch * g.positions)
        for c in 0..<g.channels {
            for kh in 0..<g.kernelH {
                for kw in 0..<g.kernelW {
                    for oh in 0..<g.outH {
                        for ow in 0..<g.outW {
                            let ih = oh * g.strideH - g.padH + kh, iw = ow * g.strideW - g.padW + kw
                            let inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width
                            col[((c * g.kernelH + kh) * g.kernelW + kw) * g.positions + oh * g.outW + ow] =
                                inside ? x[(c * g.height + ih) * g.width + iw] : 0
                        }
                    }
                }
            }
        }
        return col
    }

    @Test(arguments: geometries)
    func unfoldEqualsDefinitionAndRowWalk(_ g: ConvGeometry) {
        let x = Self.image(g)
        let table = GatherTable(g)
        var gathered = [Float](repeating: .nan, count: g.patch * g.positions)
        var walked = gathered
        var padded = [Float](repeating: .nan, count: table.paddedSize)
        x.withUnsafeBufferPointer { xp in
            gathered.withUnsafeMutableBufferPointer { table.im2col(xp.baseAddress!, $0.baseAddress!, ldcol: g.positions, padded: &padded) }
            walked.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, $0.baseAddress!, ldcol: g.positions) }
        }
        #expect(gathered == Self.definition(g, x))
        #expect(gathered == walked)
    }

    /// The fold is the adjoint of the unfold: <unfold(x), c> = <x, fold(c)> (float64 sums), and
    /// it overwrites what was in the image (NaN before); against the row walk (which adds, into
    /// zeros) to rounding: both sum each pixel's taps in tap order.
    @Test(arguments: geometries)
    func foldIsAdjointAndOverwrites(_ g: ConvGeometry) {
        let x = Self.image(g)
        let generator = RandomGenerator(seed: 92)
        let col = (0..<g.patch * g.positions).map { _ in Float(generator.uniform(-1, 1)) }
        let table = GatherTable(g)
        var folded = [Float](repeating: .nan, count: g.imageSize)
        var walked = [Float](repeating: 0, count: g.imageSize)
        var padded = [Float](repeating: .nan, count: table.paddedSize)
        col.withUnsafeBufferPointer { cp in
            folded.withUnsafeMutableBufferPointer { table.col2imOverwriting(cp.baseAddress!, ldcol: g.positions, $0.baseAddress!, padded: &padded) }
            walked.withUnsafeMutableBufferPointer { g.col2im(cp.baseAddress!, ldcol: g.positions, $0.baseAddress!) }
        }
        let unfolded = Self.definition(g, x)
        let left = zip(unfolded, col).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let right = zip(x, folded).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(left - right) <= 1e-5 * max(1, abs(left)), "<unfold x, c> = \(left), <x, fold c> = \(right)")
        for (a, b) in zip(folded, walked) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b))) }
    }

    /// Small or strided maps take the table (so the float64 gradient checks of small
    /// convolutions run through it); wide stride-1 rows and banded images keep the row walk.
    @Test func planChoosesTheTable() {
        let small = ConvGeometry(channels: 8, height: 7, width: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        let strided = ConvGeometry(channels: 8, height: 40, width: 40, kernel: (3, 3), stride: (2, 2), padding: (1, 1))
        let wide = ConvGeometry(channels: 8, height: 40, width: 40, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        #expect(ConvPlan(geometry: small, batch: 4, outChannels: 8).gather != nil)
        #expect(ConvPlan(geometry: strided, batch: 4, outChannels: 8).gather != nil)
        #expect(ConvPlan(geometry: wide, batch: 4, outChannels: 8).gather == nil)
        #expect(ConvPlan(geometry: strided, batch: 1, outChannels: 8, bandBudget: 64).gather == nil)
    }

    /// Images of 512 output positions or more form a GEMM alone (28x28: the small CNN's input
    /// layer); smaller ones share one, up to about 2048 columns and within the band budget
    /// (22x22: 2048 / 484 = 4 images; 16x16: 8; 7x7 maps of 64 channels: 9, the band budget's
    /// 262144 / (576 x 49), not 2048 / 49 = 41).
    @Test func imagesPerGEMM() {
        Parallel.threads = 2
        func plan(_ size: Int, stride: Int = 1, channels: Int = 3) -> ConvPlan {
            ConvPlan(geometry: ConvGeometry(channels: channels, height: size, width: size, kernel: (3, 3), stride: (stride, stride),
                                            padding: (1, 1)), batch: 64, outChannels: 32)
        }
        #expect(plan(28).group == 1)
        #expect(plan(23).group == 1)
        #expect(plan(22).group == 4)
        #expect(plan(32, stride: 2).group == 8)
        #expect(plan(7, channels: 64).group == 9)
    }
}
