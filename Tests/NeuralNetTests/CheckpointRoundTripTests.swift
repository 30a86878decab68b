import ArrayFiles
import Foundation
@testable import NeuralNet
import Testing
import TensorCore
import TestSupport

/// Save in MedCIL, load in PyTorch with load_state_dict(strict=True), same outputs; and back.
@Suite struct CheckpointRoundTripTests {
    static let specs: [String] = [
        #"{"kind": "resnet18", "in": 1, "classes": 4, "width": 4, "stem": "cifar"}"#,
        #"{"kind": "resnet18", "in": 3, "classes": 5, "width": 4, "stem": "imagenet"}"#,
        #"{"kind": "ccsi", "in": 3, "classes": 4, "norm": "cn"}"#,
        #"{"kind": "unet", "in": 1, "base": 2, "heads": [3, 2], "head": 1}"#,
        #"{"kind": "small_cnn", "in": 1, "classes": 6, "widths": [4, 8], "input_size": 32}"#,
    ]

    @Test(arguments: specs)
    func roundTrip(_ json: String) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let specURL = folder.appendingPathComponent("spec.json")
        try json.write(to: specURL, atomically: true, encoding: .utf8)
        let spec = try JSONDecoder().decode(Golden.Spec.self, from: Data(json.utf8))
        let channels = spec.in!
        let x = Tensor.uniform([2, channels, 32, 32], low: -1, high: 1, generator: RandomGenerator(seed: 9))
        try NpyArray(x.floats(), shape: x.shape).write(to: folder.appendingPathComponent("input.npy"))

        // MedCIL -> PyTorch.
        NeuralNetRandom.seed(3)
        let (model, forward) = buildModule("roundtrip", spec)
        model.train()
        _ = Autograd.withNoGrad { forward(model, x) }   // moves the BatchNorm statistics
        model.eval()
        let ours = Autograd.withNoGrad { forward(model, x) }
        try NpyArray(ours.floats(), shape: ours.shape).write(to: folder.appendingPathComponent("ours.npy"))
        let checkpoint = folder.appendingPathComponent("medcil.safetensors")
        try Checkpoint.save(model, to: checkpoint)
        let check = try runProcess("python3", [TestPaths.oracles.appendingPathComponent("torch_checkpoint.py").path, "check", specURL.path,
                                               checkpoint.path, folder.appendingPathComponent("input.npy").path,
                                               folder.appendingPathComponent("ours.npy").path])
        #expect(check.status == 0, "PyTorch could not load or reproduce: \(check.output)")

        // PyTorch -> MedCIL.
        let theirs = folder.appendingPathComponent("torch.safetensors"), theirOutput = folder.appendingPathComponent("theirs.npy")
        let make = try runProcess("python3", [TestPaths.oracles.appendingPathComponent("torch_checkpoint.py").path, "make", specURL.path,
                                              theirs.path, folder.appendingPathComponent("input.npy").path, theirOutput.path])
        #expect(make.status == 0, "\(make.output)")
        let (fresh, freshForward) = buildModule("roundtrip", spec)
        let report = try Checkpoint.load(fresh, from: theirs, strict: true)
        #expect(report.isExact)
        fresh.eval()
        let reproduced = Autograd.withNoGrad { freshForward(fresh, x) }
        #expect(Golden.error(reproduced.floats(), try NpyArray.read(from: theirOutput).floatValues()) <= Golden.tolerance)
    }

    @Test func loadingReportsEveryMismatchByName() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.safetensors")
        try Checkpoint.save(ResNet18(inChannels: 1, classes: 4, width: 4), to: url)
        let other = ResNet18(inChannels: 1, classes: 7, width: 4)
        #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(other, from: url) }
        var file = try SafeTensors.read(from: url)
        file.tensors["extra.weight"] = SafeTensors.Entry([1], shape: [1])
        file.tensors["conv1.weight"] = nil
        let report = try Checkpoint.load(other, state: file, strict: false)
        #expect(report.missing == ["conv1.weight"])
        #expect(report.unexpected == ["extra.weight"])
        #expect(report.shapeMismatches.count == 2 && report.shapeMismatches.allSatisfy { $0.hasPrefix("linear.") })
        #expect(report.description.contains("linear.weight: file [4, 32], model [7, 32]"))
    }
}
