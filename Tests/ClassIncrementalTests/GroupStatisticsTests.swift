import ClassIncremental
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// CCSI's per-sample group statistics (methods.md 2.3-2.4): their values, that they enter the
/// synthesis loss without gradient, and that they survive the checkpoint.
@Suite struct GroupStatisticsTests {
    /// A hand-made input [3, 4, 1, 2] in 2 groups against a stored 2 x 2 matrix. Expected values
    /// from the formula, in double precision, with explicit loops: group g of sample b holds
    /// channels 2g, 2g+1 (4 values); mean and biased variance of those; distance
    /// |V_stored - V|_F + |M_stored - M|_F with sample 2 paired with stored row 0 (2 mod 2).
    @Test func termsEqualTheirFormula() {
        let values: [Float] = (0..<24).map { Float(($0 * 7) % 11) / 3 - 1 }
        let x = Tensor(values, shape: [3, 4, 1, 2])
        let stored = GroupStatistics.Layer(mean: [0.5, -0.25, 1, 0], variance: [1, 2, 0.5, 0.25], groups: 2)
        var means = [Double](), variances = [Double]()
        for b in 0..<3 {
            for g in 0..<2 {
                let group = (0..<4).map { Double(values[b * 8 + g * 4 + $0]) }
                let mean = group.reduce(0, +) / 4
                means.append(mean)
                variances.append(group.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4)
            }
        }
        let current = GroupStatistics.Layer.of(x, groups: 2)
        #expect(current.rows == 3)
        for k in 0..<6 {
            #expect(abs(Double(current.mean[k]) - means[k]) < 1e-6)
            #expect(abs(Double(current.variance[k]) - variances[k]) < 1e-6)
        }
        var dm = 0.0, dv = 0.0
        for b in 0..<3 {
            for g in 0..<2 {
                let s = (b % 2) * 2 + g
                dm += pow(Double(stored.mean[s]) - means[b * 2 + g], 2)
                dv += pow(Double(stored.variance[s]) - variances[b * 2 + g], 2)
            }
        }
        #expect(abs(stored.distance(to: x) - (dv.squareRoot() + dm.squareRoot())) < 1e-5)
    }

    /// Training-mode batches of the first batch's size are recorded (a batch of another size is
    /// not); in synthesis the stored statistics raise the loss by sum_l s_l (distance of layer
    /// l), and the gradient on the pixels stays bit-identical (the terms carry none).
    @Test func recordedAndAddedWithoutGradient() throws {
        NeuralNetRandom.seed(3)
        let model = IncrementalNet(inChannels: 1, imageSize: 16, classes: 2, norm: .continual)
        let generator = RandomGenerator(seed: 5)
        let recorder = GroupStatisticsRecorder(net: model.net, initial: nil)
        model.net.train()
        let batches = (0..<3).map { Tensor.uniform([$0 == 2 ? 3 : 4, 1, 16, 16], low: 0, high: 1, generator: generator) }
        for batch in batches { _ = Autograd.withNoGrad { model.logits(batch) } }
        recorder.remove()
        let statistics = try #require(recorder.statistics)
        let normLayers = model.net.namedModules().filter { $0.1 is ContinualNorm }.map(\.0)
        #expect(normLayers.count == 9)
        #expect(Set(statistics.layers.keys) == Set(normLayers))
        #expect(statistics.batchSize == 4)
        // The stem's CN sees conv(x) of the second batch (the third had 3 samples, ignored).
        let stem = Autograd.withNoGrad { GroupStatistics.Layer.of((model.net as! CCSINet).conv(batches[1]), groups: 4) }
        #expect(statistics.layers["bn"] == stem)

        model.net.eval()
        let x = Tensor.uniform([4, 1, 16, 16], low: 0, high: 1, generator: generator)
        func lossAndGradient() -> (Double, [Float]) {
            let pixels = Parameter(x.clone())
            let loss = Autograd.withGrad { ImpressionSynthesis.statisticsAndLogits(model, pixels.value, firstLayerMultiplier: 10).0 }
            loss.backward()
            return (loss.item(), pixels.grad!.floats())
        }
        let (plain, plainGradient) = lossAndGradient()
        model.groupStatistics = statistics
        let (withGroups, groupGradient) = lossAndGradient()
        // Each layer's input in evaluation mode, through hooks, for the expected increase.
        var expected = 0.0
        var hooks: [(Module, Int)] = []
        for (name, module) in model.net.namedModules() where module is ContinualNorm {
            let scale = name == "bn" ? 10.0 : 1.0
            hooks.append((module, module.addForwardHook { _, input, _ in expected += scale * statistics.layers[name]!.distance(to: input) }))
        }
        _ = Autograd.withNoGrad { model.logits(x) }
        for (module, id) in hooks { module.removeForwardHook(id) }
        #expect(expected > 0)
        #expect(abs((withGroups - plain) - expected) <= 1e-4 * expected, "increase \(withGroups - plain), expected \(expected)")
        #expect(groupGradient == plainGradient)
    }

    /// Written and read back equal; and a CCSI sequence stores them with each task's model
    /// (training batch rows x 4 groups for each of the 9 CN layers), CI (BatchNorm) does not.
    @Test func roundTripThroughTheCheckpoint() throws {
        let root = TestPaths.temporaryDirectory("cil-groups")
        defer { try? FileManager.default.removeItem(at: root) }
        let statistics = GroupStatistics(layers: ["bn": .init(mean: [1, 2, 3, 4, 5, 6], variance: [0.5, 0.25, 2, 1, 3, 0], groups: 3),
                                                 "layer1.bn1": .init(mean: [-1, 0], variance: [4, 8], groups: 1)], batchSize: 2)
        let file = root.appendingPathComponent("stats.safetensors")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try statistics.write(to: file)
        #expect(try GroupStatistics.read(from: file) == statistics)

        var config = TinySequence.config(methods: ["ccsi", "ci"])
        config.training.batchSize = 20
        let run = SequenceRun(config: config, data: try TinySequence.data(config), out: root.appendingPathComponent("run"), resume: false)
        run.log = { _ in }
        try run.run()
        for task in 1...2 {
            let folder = root.appendingPathComponent("run/ccsi/task-\(task)")
            let (model, _) = try TaskCheckpoint.load(from: folder, norm: .continual, imageShape: [1, 16, 16], taskSizes: Array([2, 2][0..<task]))
            let loaded = try #require(model.groupStatistics)
            #expect(loaded.batchSize == 20)
            #expect(loaded.layers.count == 9)
            #expect(loaded.layers.values.allSatisfy { $0.rows == 20 && $0.groups == 4 && $0.variance.allSatisfy { $0 >= 0 } })
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("run/ci/task-\(task)/\(GroupStatistics.fileName)").path))
        }
    }
}
