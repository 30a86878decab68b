import Testing
@testable import TensorCore

@Suite struct AutogradBasicsTests {
    @Test func scalarChain() {
        let a = Tensor([1, 2, 3] as [Double], shape: [3], requiresGrad: true)
        let y = (a * a).sum()
        #expect(y.requiresGrad)
        #expect(y.item() == 14)
        y.backward()
        #expect(a.grad?.doubles() == [2, 4, 6])
    }
}
