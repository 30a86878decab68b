import ArrayFiles
import Foundation
import NeuralNet
import Segmentation
import TensorCore
import TestSupport
import Testing

@Suite struct VGG16FeaturesTests {
    /// A randomly initialised torchvision-layout VGG16 (Tests/Oracles/torchvision_vgg16.py),
    /// converted by scripts/convert_vgg16.py, loads with strict keys and gives PyTorch's conv
    /// features; a file missing a conv does not load.
    @Test func convertedTorchvisionWeightsGiveTorchFeatures() throws {
        let folder = TestPaths.temporaryDirectory("vgg16")
        defer { try? FileManager.default.removeItem(at: folder) }
        try runOracle("torchvision_vgg16.py", [folder.path, "3"])
        let weights = folder.appendingPathComponent("vgg16.safetensors")
        let model = VGG16Features()
        #expect(try Checkpoint.load(model, from: weights, strict: true).isExact)
        model.eval()
        let input = Tensor(try NpyArray.read(from: folder.appendingPathComponent("input.npy")))
        let features = try model.activations(input, layers: VGG16Features.allLayers)
        #expect(features.count == 13)
        for (name, value) in zip(VGG16Features.allLayers, features) {
            let expected = try NpyArray.read(from: folder.appendingPathComponent("\(name).npy"))
            #expect(value.shape == expected.shape, "\(name)")
            #expect(relativeError(value.floats(), expected.floatValues()) <= 1e-4, "\(name)")
        }
        // Only the requested layers, in network order.
        let some = try model.activations(input, layers: ["conv3_2", "conv1_2"])
        #expect(some.map(\.shape) == [[2, 64, 32, 32], [2, 256, 8, 8]])
        #expect(throws: SegmentationError.self) { try model.activations(input, layers: ["conv6_1"]) }

        var state = try SafeTensors.read(from: weights)
        state.tensors["features.28.weight"] = nil
        #expect(throws: (any Error).self) { try Checkpoint.load(VGG16Features(), state: state, strict: true) }
    }

    @Test func imageNetInputTilesAndStandardises() throws {
        let slices = Tensor([0, 50, 100, 150], shape: [1, 1, 2, 2])
        let x = try VGG16Features.imageNetInput(slices, range: 0...100)
        #expect(x.shape == [1, 3, 2, 2])
        let v = x.floats()
        // Channel 1 (green): ((min(max(v / 100, 0), 1)) − 0.456) / 0.224.
        let expected: [Float] = [0, 0.5, 1, 1].map { Float(($0 - 0.456) / 0.224) }
        #expect(zip(Array(v[4..<8]), expected).allSatisfy { abs($0 - $1) <= 1e-6 })
        #expect(try VGG16Features.imageNetInput(slices, range: 0...100, size: 4).shape == [1, 3, 4, 4])
        #expect(throws: SegmentationError.self) { try VGG16Features.imageNetInput(slices, range: 1...1) }
    }
}
