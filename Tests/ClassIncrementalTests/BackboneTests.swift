import ClassIncremental
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// The CIFAR-style ResNet-18 backbone (`backbone: resnet18`) under the cosine head.
@Suite struct BackboneTests {
    /// Its checkpoint keys and shapes are those of the CIFAR ResNet-18 (kuangliu / RobustBench
    /// naming, as PyTorch's state_dict prints them) with the head renamed `fc` and split:
    ///   conv1.weight [64, C, 3, 3]; bn1.{weight, bias, running_mean, running_var} [64], num_batches_tracked [];
    ///   layer{l}.{b}.conv1.weight [w_l, in, 3, 3], conv2.weight [w_l, w_l, 3, 3], bn1/bn2 as above at w_l,
    ///   with w = 64, 128, 256, 512 and stride 2 (and a shortcut) at block 0 of layers 2-4:
    ///   layer{l}.0.shortcut.0.weight [w_l, w_{l-1}, 1, 1] and shortcut.1.* at w_l;
    ///   fc.fc1.weight [old, 512], fc.fc2.weight [new, 512], fc.sigma [1].
    /// Independently: its backbone holds 11,168,832 parameters with 3 input channels, the
    /// widely quoted 11,173,962 of the 10-class CIFAR ResNet-18 less its linear layer (512 x 10 + 10).
    @Test(arguments: [NormKind.batch, .continual])
    func checkpointKeysAreACIFARResNet18s(_ norm: NormKind) throws {
        let model = IncrementalNet(inChannels: 3, imageSize: 32, taskSizes: [2, 3], norm: norm, backbone: .resnet18(width: 64))
        let state = Checkpoint.stateDict(model.net)
        var expected: [String: [Int]] = ["conv1.weight": [64, 3, 3, 3], "fc.fc1.weight": [2, 512], "fc.fc2.weight": [3, 512], "fc.sigma": [1]]
        func normLayer(_ prefix: String, _ channels: Int) {
            for key in ["weight", "bias", "running_mean", "running_var"] { expected["\(prefix).\(key)"] = [channels] }
            expected["\(prefix).num_batches_tracked"] = []
        }
        normLayer("bn1", 64)
        let widths = [64, 128, 256, 512]
        for (l, width) in widths.enumerated() {
            let input = l == 0 ? 64 : widths[l - 1]
            for b in 0..<2 {
                let prefix = "layer\(l + 1).\(b)"
                expected["\(prefix).conv1.weight"] = [width, b == 0 ? input : width, 3, 3]
                expected["\(prefix).conv2.weight"] = [width, width, 3, 3]
                normLayer("\(prefix).bn1", width)
                normLayer("\(prefix).bn2", width)
                if b == 0 && l > 0 {
                    expected["\(prefix).shortcut.0.weight"] = [width, input, 1, 1]
                    normLayer("\(prefix).shortcut.1", width)
                }
            }
        }
        #expect(Set(state.tensors.keys) == Set(expected.keys), "extra \(Set(state.tensors.keys).subtracting(expected.keys).sorted()), missing \(Set(expected.keys).subtracting(state.tensors.keys).sorted())")
        for (key, shape) in expected { #expect(state.tensors[key]?.shape == shape, "\(key)") }
        let backboneParameters = model.net.namedParameters().filter { !$0.0.hasPrefix("fc.") }.reduce(0) { $0 + $1.1.value.count }
        #expect(backboneParameters == 11_168_832)
        let layers = model.net.namedModules().map(\.1).filter { $0 is BatchNorm2d }
        #expect(layers.count == 20)
        #expect(layers.allSatisfy { ($0 is ContinualNorm) == (norm == .continual) })
        #expect(model.featureSize == 512)
    }

    /// A two-task sequence of ccsi (Continual Normalization) and ci (BatchNorm) on a narrow
    /// ResNet-18 runs, and its checkpoints load back strictly into the same architecture with the
    /// same predictions; ccsi stores group statistics for its 20 CN layers, ci none.
    @Test func shortSequenceRunsWithResNet18() throws {
        var config = TinySequence.config(methods: ["ccsi", "ci"])
        config.backbone = "resnet18"
        config.resnetWidth = 8
        let data = try TinySequence.data(config)
        let root = TestPaths.temporaryDirectory("cil-resnet")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = SequenceRun(config: config, data: data, out: root, resume: false)
        run.log = { _ in }
        let results = try run.run()
        for (m, method) in ["ccsi", "ci"].enumerated() {
            let records = results.methods[m].records
            #expect(records.count == 2)
            #expect(records.allSatisfy { (0...1).contains($0.pooledAccuracy) })
            #expect(records[1].syntheticImages == 8)
            let folder = root.appendingPathComponent("\(method)/task-2")
            let (model, _) = try TaskCheckpoint.load(from: folder, norm: method == "ccsi" ? .continual : .batch, imageShape: [1, 16, 16],
                                                     taskSizes: [2, 2], backbone: .resnet18(width: 8))
            #expect(model.net is CosineResNet18)
            #expect(model.featureSize == 64)
            let test = data.test.restricted(to: Set(0..<4))
            let accuracy = Double(zip(model.predict(test), test.labels).filter { $0 == $1 }.count) / Double(test.count)
            #expect(abs(accuracy - records[1].pooledAccuracy) < 1e-12)
            #expect((model.groupStatistics?.layers.count ?? 0) == (method == "ccsi" ? 20 : 0))
        }
    }
}
