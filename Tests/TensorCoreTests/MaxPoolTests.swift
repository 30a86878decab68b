import Testing
@testable import TensorCore

/// Max pooling against its definition (the largest in-image tap of each window, computed here
/// directly), with and without recording: the forward pass takes windows wholly inside the
/// image on a path of its own, and keeps no argmax when nothing records.
@Suite struct MaxPoolTests {
    /// The largest in-image value of each window, window by window.
    func definition(_ x: [Float], _ n: Int, _ c: Int, _ h: Int, _ w: Int, kernel: (Int, Int), stride: (Int, Int),
                    padding: (Int, Int)) -> [Float] {
        let oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
        var out: [Float] = []
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var best = -Float.infinity
                    for dh in 0..<kernel.0 {
                        for dw in 0..<kernel.1 {
                            let y = i * stride.0 - padding.0 + dh, x0 = j * stride.1 - padding.1 + dw
                            if y >= 0 && y < h && x0 >= 0 && x0 < w { best = max(best, x[(plane * h + y) * w + x0]) }
                        }
                    }
                    out.append(best)
                }
            }
        }
        return out
    }

    /// ResNet's stem pool (3x3, stride 2, padding 1) on even and odd sizes, a 3x3 window at
    /// stride 1 without padding (every window inside), a 2x3 window with padding on one axis
    /// and unequal strides, a 4x4 map that a 3x3 window at stride 2 covers with edges only, and
    /// 2x2 windows at stride 2 (their own loop) on the small CNN's 28x28, 14x14, 7x7 and 3x3 maps
    /// (odd sizes: the last row and column unread) and on a 5x40 map.
    @Test(arguments: [([2, 3, 16, 16], (3, 3), (2, 2), (1, 1)), ([1, 2, 9, 7], (3, 3), (2, 2), (1, 1)),
                      ([2, 2, 6, 5], (3, 3), (1, 1), (0, 0)), ([1, 3, 7, 9], (2, 3), (1, 2), (1, 0)),
                      ([1, 1, 4, 4], (3, 3), (2, 2), (1, 1)), ([2, 3, 28, 28], (2, 2), (2, 2), (0, 0)),
                      ([1, 2, 14, 14], (2, 2), (2, 2), (0, 0)), ([2, 2, 7, 7], (2, 2), (2, 2), (0, 0)),
                      ([1, 1, 3, 3], (2, 2), (2, 2), (0, 0)), ([1, 2, 5, 40], (2, 2), (2, 2), (0, 0))])
    func matchesDefinition(shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        let x = Tensor.uniform(shape, low: -1, high: 1, generator: RandomGenerator(seed: 90))
        let expected = definition(x.floats(), shape[0], shape[1], shape[2], shape[3], kernel: kernel, stride: stride, padding: padding)
        x.requiresGrad = true
        let recorded = maxPool2d(x, kernel: kernel, stride: stride, padding: padding)
        #expect(recorded.requiresGrad)
        #expect(recorded.floats() == expected)
        let evaluated = Autograd.withNoGrad { maxPool2d(x, kernel: kernel, stride: stride, padding: padding) }
        #expect(!evaluated.requiresGrad)
        #expect(evaluated.floats() == expected)
    }

    /// The gradient of 2x2 stride-2 pooling goes to each window's first maximum in the order
    /// top left, top right, bottom left, bottom right (PyTorch's), on values with many ties
    /// (three levels), through the argmax positions the forward pass keeps in a pooled buffer,
    /// on even and odd sizes. The expected gradient is worked out here window by window.
    @Test(arguments: [[2, 3, 12, 28], [1, 2, 7, 7], [1, 1, 6, 40]])
    func gradientToFirstMaximum(shape: [Int]) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let levels = Tensor.uniform(shape, low: 0, high: 3, generator: RandomGenerator(seed: 91)).floats().map { $0.rounded(.down) }
        let x = Tensor(levels, shape: shape, requiresGrad: true)
        let y = maxPool2d(x, kernel: (2, 2))
        let (oh, ow) = (h / 2, w / 2)
        let g = (0..<(n * c * oh * ow)).map { Float($0 % 97 + 1) }
        y.backward(Tensor(g, shape: y.shape))
        var expected = [Float](repeating: 0, count: levels.count)
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    let taps = [(2 * i, 2 * j), (2 * i, 2 * j + 1), (2 * i + 1, 2 * j), (2 * i + 1, 2 * j + 1)].map { (plane * h + $0.0) * w + $0.1 }
                    var at = taps[0]
                    for t in taps.dropFirst() where levels[t] > levels[at] { at = t }
                    expected[at] += g[(plane * oh + i) * ow + j]
                }
            }
        }
        #expect(x.grad?.floats() == expected)
    }
}
