import ArrayFiles
import Foundation
import NeuralNet
import Segmentation
import TensorCore
import TestSupport
import Testing

@Suite struct SegmentationNetworkTests {
    static let golden = TestPaths.root.appendingPathComponent("Tests/Golden/seg_unet_eval")

    func array(_ name: String) throws -> NpyArray { try NpyArray.read(from: Self.golden.appendingPathComponent("\(name).npy")) }

    /// Tests/Golden/make_golden.py (segmentation section): the two-head U-Net in evaluation mode
    /// (BatchNorm running statistics, dropout off) equals PyTorch in logits, abstraction
    /// descriptors and gradients, within max|swift − torch| <= 1e-4 · max|torch|.
    @Test func evaluationModeMatchesPyTorch() throws {
        let model = UNet(inChannels: 1, base: 2, heads: [2, 2], dropout: 0.5)
        #expect(try Checkpoint.load(model, from: Self.golden.appendingPathComponent("weights.safetensors"), strict: true).isExact)
        model.eval()
        let x = Tensor(try array("input"))
        x.requiresGrad = true
        let logits = [model(x, head: 0), model(x, head: 1)]
        var loss: Tensor?
        for h in 0..<2 {
            let expected = try array("logits_head\(h)")
            #expect(logits[h].shape == expected.shape)
            #expect(relativeError(logits[h].floats(), expected.floatValues()) <= 1e-4, "head \(h) logits")
            let term = (logits[h] * Tensor(try array("probe_head\(h)"))).sum()
            loss = loss.map { $0 + term } ?? term
        }
        loss!.backward()
        #expect(relativeError(x.grad!.floats(), try array("input_grad").floatValues()) <= 1e-4, "input gradient")
        let grads = try SafeTensors.read(from: Self.golden.appendingPathComponent("grads.safetensors"))
        for (key, parameter) in model.namedParameters() {
            guard let reference = grads.tensors[key] else { Issue.record("no PyTorch gradient for \(key)"); continue }
            #expect(relativeError(parameter.grad!.floats(), try reference.floats()) <= 1e-4, "gradient \(key)")
        }
        model.train()
        let (descriptors, dims) = try AbstractionDescriptors.compute(model: model, images: x.detach(), batchSize: 1)
        #expect(dims == 32)
        #expect(relativeError(descriptors, try array("descriptors").floatValues()) <= 1e-4, "abstraction descriptors")
    }

    /// An increment adds a head: the body and the old heads keep their parameters (same
    /// objects, same values) and outputs; the new head is `heads.1.*`.
    @Test func addingAHeadKeepsTheBodyAndOldHeads() throws {
        NeuralNetRandom.seed(12)
        let model = UNet(inChannels: 1, base: 2, heads: [2], dropout: 0.5)
        model.eval()
        let x = Tensor.normal([1, 1, 32, 32], generator: RandomGenerator(seed: 2))
        let before = Autograd.withNoGrad { model(x, head: 0) }.floats()
        let keysBefore = model.namedParameters().map(\.0)
        let valuesBefore = model.namedParameters().map { $0.1.value.floats() }
        #expect(model.addHead(classes: 2) == 1)
        let after = model.namedParameters()
        #expect(Array(after.prefix(keysBefore.count).map(\.0)) == keysBefore)
        #expect(zip(after.prefix(keysBefore.count), valuesBefore).allSatisfy { $0.1.value.floats() == $1 })
        #expect(after.dropFirst(keysBefore.count).allSatisfy { $0.0.hasPrefix("heads.1.") })
        #expect(Autograd.withNoGrad { model(x, head: 0) }.floats() == before)
        #expect(Autograd.withNoGrad { model(x, head: 1) }.shape == [1, 2, 32, 32])
    }
}
