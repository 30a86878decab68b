import NeuralNet
@testable import Segmentation
import TensorCore
import Testing

/// The two-optimizer variant: a body parameter takes one Adam step per loss, each with its own
/// moments; a new-head parameter one step on L_c. Adam's first step from zero moments moves a
/// parameter by lr · g / (|g| + ε') with ε' = ε·sqrt(1 − β2) ≈ 0 (m = (1 − β1) g,
/// v = (1 − β2) g², bias corrections 1/(1 − β1) and 1/sqrt(1 − β2)), i.e. by lr · sign(g).
@Suite struct TwoLossAdamTests {
    @Test func bodyTakesOneAdamStepPerLossAndTheNewHeadOne() throws {
        let body = Parameter(Tensor([1, 1], shape: [2])), head = Parameter(Tensor([1, 1], shape: [2]))
        let lr = 0.01
        let optimizer = TwoLossAdam(parameters: [body, head], newHead: [head], learningRate: lr)
        body.value.grad = Tensor([3, 4], shape: [2])       // ∂L_c
        head.value.grad = Tensor([-5, 0.5], shape: [2])    // ∂L_c (the new head has no L_d)
        optimizer.stashClassificationGradients()
        #expect(body.value.grad == nil && head.value.grad != nil)
        body.value.grad = Tensor([0.5, -2], shape: [2])    // ∂L_d
        optimizer.step()
        let b = body.value.floats(), h = head.value.floats()
        // body: − lr·sign(∂L_d) − lr·sign(∂L_c) = [1 − 2 lr, 1 + lr − lr]
        #expect(abs(b[0] - Float(1 - 2 * lr)) < 1e-6 && abs(b[1] - 1) < 1e-6, "\(b)")
        // head: − lr·sign(∂L_c) = [1 + lr, 1 − lr]
        #expect(abs(h[0] - Float(1 + lr)) < 1e-6 && abs(h[1] - Float(1 - lr)) < 1e-6, "\(h)")
        // Separate moments per loss, saved with the optimizer's state (so a resumed run has them).
        let keys = Set(optimizer.stateTensors().tensors.keys)
        #expect(keys.isSuperset(of: ["0.classification.exp_avg", "0.distillation.exp_avg", "1.classification.exp_avg"]), "\(keys.sorted())")
        #expect(!keys.contains("1.distillation.exp_avg"))
    }
}
