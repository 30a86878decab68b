import ArrayFiles
import ClassIncremental
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// One synthesis step against PyTorch (Tests/Golden/make_golden.py, `synthesis_step_cn` and
/// `synthesis_step_bn`: the same net, weights, start batch and labels; the loss before the step
/// and the pixels after Adam and the channel-0 clamp). Normwise relative tolerance 1e-4, as the
/// other goldens.
@Suite struct SynthesisGoldenTests {
    @Test(arguments: ["synthesis_step_cn", "synthesis_step_bn"])
    func oneStepMatchesPyTorch(_ name: String) throws {
        let folder = TestPaths.root.appendingPathComponent("Tests/Golden/\(name)")
        let model = IncrementalNet(inChannels: 1, imageSize: 32, classes: 3, norm: name.hasSuffix("cn") ? .continual : .batch)
        try Checkpoint.load(model.net, from: folder.appendingPathComponent("weights.safetensors"))
        model.net.eval()
        let start = try NpyArray.read(from: folder.appendingPathComponent("input.npy")).floatValues()
        let labels = try NpyArray.read(from: folder.appendingPathComponent("labels.npy")).values(as: Int64.self).map { Int($0) }
        var settings = SequenceConfig.Synthesis()
        settings.iterations = 1
        settings.warmup = 1
        settings.jitter = 0
        settings.flip = false
        let synthesis = ImpressionSynthesis(settings: settings, tvL2: 0.01)
        let (after, trace) = synthesis.synthesize(model: model, labels: labels, start: start, imageShape: [1, 32, 32], generator: RandomGenerator(seed: 1))
        let loss = Double(try NpyArray.read(from: folder.appendingPathComponent("loss.npy")).floatValues()[0])
        #expect(abs(trace.firstLoss - loss) <= 1e-4 * abs(loss), "loss \(trace.firstLoss) vs PyTorch \(loss)")
        let expected = try NpyArray.read(from: folder.appendingPathComponent("after.npy")).floatValues()
        let scale = max(expected.map { abs($0) }.max() ?? 0, 1e-6)
        let error = zip(after, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(error <= 1e-4 * scale, "pixels after the step differ by \(error)")
        // The step moved the pixels (a no-op would match a golden of zero gradient only).
        #expect(zip(after, start).contains { $0 != $1 })
    }
}
