import Testing
@testable import TensorCore

/// l2Normalized and cosineSimilarity on rows whose norm is zero: the values and gradients
/// must be torch's, finite, not NaN. Expected gradients from PyTorch 2.13 (float64):
///   x = [[0,0,0],[1,2,2]], w = [[1,2,3],[4,5,6]]
///   (F.normalize(x, dim=1, eps=1e-12) * w).sum().backward()
///     x.grad = [[1e12, 2e12, 3e12], [0.370370.., -0.259259.., 0.074074..]]
///   a = x, b = w: F.cosine_similarity(a, b, dim=1, eps=1e-8).sum().backward()
///     a.grad = [[2.6726e7, 5.3452e7, 8.0178e7], [0.042208, -0.029545, 0.0084415]], b.grad[0] = 0
/// The zero row's values follow from the formulas: x / max(‖x‖, ε) has slope 1/ε there, and
/// a·b / (max(‖a‖, ε)·max(‖b‖, ε)) has slope b / (ε‖b‖) in a.
@Suite struct ZeroRowNormTests {
    static func rows() -> (x: Tensor, w: Tensor) {
        let x = Tensor([0, 0, 0, 1, 2, 2] as [Double], shape: [2, 3], requiresGrad: true)
        return (x, Tensor([1, 2, 3, 4, 5, 6] as [Double], shape: [2, 3]))
    }

    @Test func l2NormalizedOfAZeroRowHasTorchsGradient() {
        let (x, w) = Self.rows()
        (x.l2Normalized(axis: 1) * w).sum().backward()
        let g = x.grad!.doubles()
        let expected = [1e12, 2e12, 3e12, 10.0 / 27, -7.0 / 27, 2.0 / 27]   // row 2: (w - (w·u)u)/3, u = x/3
        for (got, want) in zip(g, expected) { #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "\(g)") }
    }

    @Test func cosineSimilarityOfAZeroRowHasTorchsGradient() {
        let (a, w) = Self.rows()
        let b = Tensor(w.doubles(), shape: [2, 3], requiresGrad: true)
        let cosine = cosineSimilarity(a, b)
        #expect(cosine.doubles()[0] == 0)
        cosine.sum().backward()
        let normB = (14.0).squareRoot()
        let ga = a.grad!.doubles(), gb = b.grad!.doubles()
        let expectedZeroRow = [1, 2, 3].map { Double($0) / (1e-8 * normB) }
        for (got, want) in zip(ga.prefix(3), expectedZeroRow) { #expect(abs(got - want) <= 1e-9 * want, "\(ga)") }
        let torchRow2 = [0.042208, -0.029545, 0.0084415]
        for (got, want) in zip(ga.suffix(3), torchRow2) { #expect(abs(got - want) <= 1e-5, "\(ga)") }
        #expect(gb.prefix(3).allSatisfy { $0 == 0 }, "\(gb)")
        #expect(ga.allSatisfy(\.isFinite) && gb.allSatisfy(\.isFinite))
    }

    /// Away from zero the clamp is inactive: central differences in float64 agree.
    @Test func gradientsAwayFromZeroMatchFiniteDifferences() {
        expectGradients([randomInput([3, 5], seed: 91), randomInput([3, 5], seed: 92)]) { cosineSimilarity($0[0], $0[1]) * 2 }
    }
}
