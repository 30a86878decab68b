import ArrayFiles
import DataLoading
import Foundation
@testable import Incremental
@testable import Metrics
import Training
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// Neural Mean Discrepancy against PyTorch and by its definition.
///
/// Golden: Tests/Golden/nmd_resnet18_cifar, written by `python3 Tests/Golden/make_golden.py
/// nmd_resnet18_cifar` (forward hooks on the stem convolution and both convolutions of every
/// basic block of the PyTorch reference ResNet-18, evaluation mode). Tolerance as for the other
/// goldens: max|swift - torch| <= 1e-4 * max|torch| per tensor.
@Suite struct NeuralMeanDiscrepancyTests {
    static let folder = TestPaths.root.appendingPathComponent("Tests/Golden/nmd_resnet18_cifar")

    static func goldenModel() throws -> Module {
        let model = ResNet18(inChannels: 1, classes: 4, width: 4, stem: .cifar, dropout: 0)
        _ = try Checkpoint.load(model, from: folder.appendingPathComponent("weights.safetensors"), strict: true)
        return model
    }

    static func array(_ name: String) throws -> NpyArray { try NpyArray.read(from: folder.appendingPathComponent("\(name).npy")) }

    static func error(_ ours: [Float], _ reference: [Float]) -> Float {
        let scale = max(reference.map(abs).max() ?? 0, 1e-6)
        return zip(ours, reference).map { abs($0 - $1) }.max()! / scale
    }

    @Test func seventeenMainConvolutions() throws {
        let model = try Self.goldenModel()
        #expect(NeuralMeanDiscrepancy.mainConvolutions(of: model).count == 17)
        // width w: stem w, then 4 convolutions of w, 2w, 4w and 8w channels: 61 w (3904 at width 64).
        #expect(NeuralMeanDiscrepancy.dimension(of: model) == 61 * 4)
        #expect(NeuralMeanDiscrepancy.dimension(of: ResNet18(inChannels: 1, classes: 8, width: 64, stem: .cifar, dropout: 0.1)) == 3904)
    }

    @Test func signaturesMatchPyTorch() throws {
        let model = try Self.goldenModel()
        let input = try Self.array("input")
        let (logits, _, signatures) = NeuralMeanDiscrepancy.forward(model, Tensor(input.floatValues(), shape: input.shape))
        let expected = try Self.array("signatures")
        #expect(signatures.shape == expected.shape)
        #expect(Self.error(signatures.floats(), expected.floatValues()) <= 1e-4)
        #expect(Self.error(logits.floats(), try Self.array("logits").floatValues()) <= 1e-4)
    }

    /// The NMF is the mean signature over a set; it does not depend on how the set is batched
    /// (evaluation mode: BatchNorm uses running statistics), and it is PyTorch's mean.
    @Test(arguments: [1, 2, 5])
    func meanFeatureMatchesPyTorchAtAnyBatchSize(_ batchSize: Int) throws {
        let model = try Self.goldenModel()
        let input = try Self.array("input")
        let source = ArrayDataset(images: input.floatValues(), labels: [Int](repeating: 0, count: input.shape[0]),
                                  sampleShape: Array(input.shape.dropFirst()))
        let nmf = try NeuralMeanDiscrepancy.meanFeature(model, over: source, batchSize: batchSize)
        #expect(Self.error(nmf, try Self.array("nmf").floatValues()) <= 1e-4)
    }

    /// NMD = signature - NMF, so averaged over the set the NMF came from it is zero.
    @Test func nmdAveragedOverTheOwnSetIsZero() throws {
        let model = try Self.goldenModel()
        let input = try Self.array("input")
        let source = ArrayDataset(images: input.floatValues(), labels: [Int](repeating: 0, count: input.shape[0]),
                                  sampleShape: Array(input.shape.dropFirst()))
        let nmf = try NeuralMeanDiscrepancy.meanFeature(model, over: source, batchSize: 2)
        let signatures = NeuralMeanDiscrepancy.forward(model, Tensor(input.floatValues(), shape: input.shape)).signatures.floats()
        let n = input.shape[0], f = nmf.count
        let scale = nmf.map(abs).max()!
        for k in 0..<f {
            let mean = (0..<n).reduce(0.0) { $0 + Double(signatures[$1 * f + k] - nmf[k]) } / Double(n)
            #expect(abs(mean) <= 1e-5 * Double(scale), "component \(k): mean NMD \(mean)")
        }
        // And it is not trivially zero per image.
        let perImage = (0..<f).map { abs(signatures[$0] - nmf[$0]) }.max()!
        #expect(perImage > 1e-3 * scale)
    }
}
