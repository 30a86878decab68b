import Testing
@testable import TensorCore

@Suite struct AutogradBasicsTests {
    /// A leaf takes a gradient that nothing else holds as its own instead of copying it; leaves
    /// that receive one gradient tensor (both inputs of a sum) or views of one buffer (through
    /// a reshape) each get their own memory. Changing one leaf's grad in place leaves the others
    /// as they were (expected values by hand: d/da, d/db, d/dc of Σ w (a + b + c) and Σ a² are w,
    /// w, w and 2a).
    @Test func leafGradientsDoNotAlias() {
        let a = Tensor([1, 2, 3, 4] as [Double], shape: [4], requiresGrad: true)
        let b = Tensor([5, 6, 7, 8] as [Double], shape: [4], requiresGrad: true)
        let c = Tensor([1, 1, 1, 1] as [Double], shape: [2, 2], requiresGrad: true)
        let w = Tensor([1, 2, 3, 4] as [Double], shape: [4])
        ((a + b + c.reshaped([4])) * w).sum().backward()
        addInPlace(a.grad!, Tensor([10, 10, 10, 10] as [Double], shape: [4]))
        #expect(a.grad!.doubles() == [11, 12, 13, 14])
        #expect(b.grad!.doubles() == [1, 2, 3, 4])
        #expect(c.grad!.doubles() == [1, 2, 3, 4] && c.grad!.shape == [2, 2])
        addInPlace(c.grad!, Tensor([1, 1, 1, 1] as [Double], shape: [2, 2]))
        #expect(b.grad!.doubles() == [1, 2, 3, 4])
        // A fresh gradient (2a, computed for this leaf alone) is kept as it is, and a second
        // backward accumulates into it.
        let d = Tensor([1, 2, 3] as [Double], shape: [3], requiresGrad: true)
        (d * d).sum().backward()
        (d * d).sum().backward()
        #expect(d.grad!.doubles() == [4, 8, 12])
        #expect(d.grad!.node == nil && !d.grad!.requiresGrad)
    }

    @Test func scalarChain() {
        let a = Tensor([1, 2, 3] as [Double], shape: [3], requiresGrad: true)
        let y = (a * a).sum()
        #expect(y.requiresGrad)
        #expect(y.item() == 14)
        y.backward()
        #expect(a.grad?.doubles() == [2, 4, 6])
    }
}
