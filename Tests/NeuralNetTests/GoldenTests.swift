import ArrayFiles
import Foundation
@testable import NeuralNet
import Testing
import TensorCore
import TestSupport

/// Parity with PyTorch on golden tensors written by Tests/Golden/make_golden.py (committed):
/// the same module with the same weights and input gives the same output, input gradient,
/// parameter gradients, BatchNorm statistics, and parameters after one SGD and one Adam step.
/// Tolerance: normwise relative, max|swift - torch| <= 1e-4 * max(max|torch|, 1e-6) per tensor.
enum Golden {
    static let folder = TestPaths.root.appendingPathComponent("Tests/Golden")
    static let tolerance: Float = 1e-4

    struct Spec: Decodable {
        var kind: String
        var `in`: Int?
        var out: Int?
        var kernel: Int?
        var stride: Int?
        var padding: Int?
        var bias: Bool?
        var channels: Int?
        var groups: Int?
        var momentum: Double?
        var old: Int?
        var new: Int?
        var classes: Int?
        var widths: [Int]?
        var input_size: Int?
        var width: Int?
        var stem: String?
        var norm: String?
        var base: Int?
        var heads: [Int]?
        var head: Int?
        var weights: [Double]?
        var temperature: Double?
        var margin: Double?
    }

    static func spec(_ name: String) throws -> Spec {
        try JSONDecoder().decode(Spec.self, from: Data(contentsOf: folder.appendingPathComponent("\(name)/case.json")))
    }

    static func array(_ name: String, _ file: String) throws -> NpyArray {
        try NpyArray.read(from: folder.appendingPathComponent("\(name)/\(file).npy"))
    }

    static func tensors(_ name: String, _ file: String) throws -> SafeTensors {
        try SafeTensors.read(from: folder.appendingPathComponent("\(name)/\(file).safetensors"))
    }

    static func tensor(_ array: NpyArray) -> Tensor { Tensor(array.floatValues(), shape: array.shape) }

    /// Normwise relative error of `ours` against `reference`.
    static func error(_ ours: [Float], _ reference: [Float]) -> Float {
        precondition(ours.count == reference.count)
        let scale = max(reference.map { abs($0) }.max() ?? 0, 1e-6)
        return zip(ours, reference).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }
}

/// A layer under a "layer" key, as the golden script wraps it.
final class Wrapped: Module {
    let layer: Module
    init(_ layer: Module) { self.layer = layer }
    override func forward(_ x: Tensor) -> Tensor { layer(x) }
}

/// A parameter-free op.
final class Op: Module {
    let body: (Tensor) -> Tensor
    init(_ body: @escaping (Tensor) -> Tensor) { self.body = body }
    override func forward(_ x: Tensor) -> Tensor { body(x) }
}

func buildModule(_ name: String, _ s: Golden.Spec) -> (Module, (Module, Tensor) -> Tensor) {
    let plain: (Module, Tensor) -> Tensor = { m, x in m(x) }
    switch s.kind {
    case "conv2d":
        return (Wrapped(Conv2d(s.in!, s.out!, kernel: s.kernel!, stride: s.stride!, padding: s.padding!, bias: s.bias!)), plain)
    case "conv_transpose2d":
        return (Wrapped(ConvTranspose2d(s.in!, s.out!, kernel: s.kernel!, stride: s.stride!, padding: s.padding!, bias: s.bias!)), plain)
    case "linear": return (Wrapped(Linear(s.in!, s.out!)), plain)
    case "batchnorm": return (Wrapped(BatchNorm2d(s.channels!, momentum: s.momentum!)), plain)
    case "groupnorm": return (Wrapped(GroupNorm(groups: s.groups!, channels: s.channels!)), plain)
    case "continual_norm": return (Wrapped(ContinualNorm(s.channels!, groups: s.groups!)), plain)
    case "cosine_linear": return (Wrapped(CosineLinear(s.in!, s.out!)), plain)
    case "split_cosine_linear": return (Wrapped(SplitCosineLinear(s.in!, oldClasses: s.old!, newClasses: s.new!)), plain)
    case "op_maxpool": return (Op { maxPool2d($0, kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }, plain)
    case "op_avgpool": return (Op { avgPool2d($0, kernel: (2, 2)) }, plain)
    case "op_adaptive_avgpool": return (Op { adaptiveAvgPool2d($0, output: (3, 2)) }, plain)
    case "op_upsample_bilinear": return (Op { upsample($0, size: (9, 7), mode: .bilinear) }, plain)
    case "op_upsample_nearest": return (Op { upsample($0, size: ($0.size(2) * 2, $0.size(3) * 2), mode: .nearest) }, plain)
    case "op_softmax": return (Op { $0.softmax(axis: 1) }, plain)
    case "op_log_softmax": return (Op { $0.logSoftmax(axis: 1) }, plain)
    case "op_roll_flip": return (Op { $0.rolled(shifts: [2, -1], axes: [2, 3]).flipped([3]) }, plain)
    case "small_cnn": return (SmallCNN(inChannels: s.in!, classes: s.classes!, widths: s.widths!, inputSize: s.input_size!), plain)
    case "resnet18":
        return (ResNet18(inChannels: s.in!, classes: s.classes!, width: s.width!, stem: ResNet18.Stem(rawValue: s.stem!)!, dropout: 0), plain)
    case "ccsi": return (CCSINet(inChannels: s.in!, classes: s.classes!, norm: s.norm == "cn" ? .continual : .batch), plain)
    case "unet":
        let head = s.head!
        return (UNet(inChannels: s.in!, base: s.base!, heads: s.heads!, dropout: 0), { m, x in (m as! UNet)(x, head: head) })
    default:
        preconditionFailure("unknown golden case \(name)")
    }
}

let moduleCases = ["layer_conv2d", "layer_conv2d_pointwise", "layer_conv2d_tiny_map", "layer_conv_transpose2d", "layer_linear", "layer_batchnorm",
                   "layer_batchnorm_momentum1", "layer_groupnorm", "layer_continual_norm", "layer_cosine_linear",
                   "layer_split_cosine_linear", "op_maxpool", "op_avgpool", "op_adaptive_avgpool", "op_upsample_bilinear",
                   "op_upsample_nearest", "op_softmax", "op_log_softmax", "op_roll_flip", "model_small_cnn", "model_resnet18_cifar",
                   "model_resnet18_imagenet", "model_ccsi_bn", "model_ccsi_cn", "model_unet"]

/// The cases with SGD and Adam goldens (make_golden.py: every layer with parameters, the small
/// CNN and the CIFAR ResNet-18; the other networks pass `optimizers=False` to keep the files
/// small, since the update rules do not depend on the model).
let optimizerCases: Set<String> = ["layer_conv2d", "layer_conv2d_pointwise", "layer_conv_transpose2d", "layer_linear", "layer_batchnorm",
                                   "layer_batchnorm_momentum1", "layer_groupnorm", "layer_continual_norm", "layer_cosine_linear",
                                   "layer_split_cosine_linear", "model_small_cnn", "model_resnet18_cifar"]

@Suite struct GoldenModuleTests {
    @Test(arguments: moduleCases)
    func matchesPyTorch(_ name: String) throws {
        let (module, forward) = buildModule(name, try Golden.spec(name))
        let hasParameters = !module.parameters().isEmpty
        let weightsURL = Golden.folder.appendingPathComponent("\(name)/weights.safetensors")
        try Checkpoint.load(module, from: weightsURL, strict: true)
        module.train()
        let x = Golden.tensor(try Golden.array(name, "input"))
        x.requiresGrad = true
        let out = forward(module, x)
        let expected = try Golden.array(name, "output")
        #expect(out.shape == expected.shape)
        #expect(Golden.error(out.floats(), expected.floatValues()) <= Golden.tolerance, "output")
        (out * Golden.tensor(try Golden.array(name, "probe"))).sum().backward()
        #expect(Golden.error(x.grad!.floats(), try Golden.array(name, "input_grad").floatValues()) <= Golden.tolerance, "input gradient")
        let state = try Golden.tensors(name, "state")
        for (key, buffer) in module.namedBuffers() {
            #expect(Golden.error(buffer.value.floats(), try state.tensors[key]!.floats()) <= Golden.tolerance, "buffer \(key)")
        }
        guard hasParameters else { return }
        let grads = try Golden.tensors(name, "grads")
        var ownGrads: [String: Tensor] = [:]
        for (key, parameter) in module.namedParameters() {
            guard let reference = grads.tensors[key] else {
                #expect(parameter.grad == nil, "\(key) has no gradient in PyTorch")
                continue
            }
            #expect(Golden.error(parameter.grad!.floats(), try reference.floats()) <= Golden.tolerance, "gradient \(key)")
            ownGrads[key] = parameter.grad!.clone()
        }
        // One optimizer step from the initial weights with these gradients.
        let optimizers: [(String, (Module) -> Optimizer)] = [
            ("sgd", { SGD($0.parameters(), learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4) }),
            ("adam", { Adam($0.parameters(), learningRate: 1e-2, weightDecay: 1e-4) }),
        ]
        // The cases make_golden.py writes optimizer goldens for must have them (a missing file
        // fails); the others must not, so that this list and the script cannot drift apart.
        for (file, make) in optimizers {
            let url = Golden.folder.appendingPathComponent("\(name)/\(file).safetensors")
            guard optimizerCases.contains(name) else {
                #expect(!FileManager.default.fileExists(atPath: url.path), "\(name)/\(file).safetensors exists: add \(name) to optimizerCases")
                continue
            }
            try Checkpoint.load(module, from: weightsURL, strict: true)
            for (key, parameter) in module.namedParameters() { parameter.value.grad = ownGrads[key]?.clone() }
            make(module).step()
            let after = try Golden.tensors(name, file)
            for (key, parameter) in module.namedParameters() {
                #expect(Golden.error(parameter.value.floats(), try after.tensors[key]!.floats()) <= Golden.tolerance, "\(file) \(key)")
            }
        }
    }
}

@Suite struct GoldenLossTests {
    func inputs(_ name: String, count: Int) throws -> [Tensor] {
        try (0..<count).map { i in
            let t = Golden.tensor(try Golden.array(name, "input\(i)"))
            t.requiresGrad = true
            return t
        }
    }

    func targetLabels(_ name: String) throws -> [Int] { try Golden.array(name, "target0").floatValues().map { Int($0) } }

    func check(_ name: String, _ inputs: [Tensor], _ loss: Tensor) throws {
        #expect(Golden.error([Float(loss.item())], try Golden.array(name, "loss").floatValues()) <= Golden.tolerance, "loss")
        loss.backward()
        for (i, input) in inputs.enumerated() {
            #expect(Golden.error(input.grad?.floats() ?? [Float](repeating: 0, count: input.count),
                                 try Golden.array(name, "input\(i)_grad").floatValues()) <= Golden.tolerance, "gradient \(i)")
        }
    }

    @Test func crossEntropies() throws {
        var x = try inputs("loss_cross_entropy_weighted", count: 1)
        try check("loss_cross_entropy_weighted", x, crossEntropy(x[0], targets: try targetLabels("loss_cross_entropy_weighted"), weights: [0.5, 2, 1, 1.5]))
        x = try inputs("loss_cross_entropy_soft", count: 1)
        let soft = Golden.tensor(try Golden.array("loss_cross_entropy_soft", "target0"))
        try check("loss_cross_entropy_soft", x, crossEntropy(x[0], softTargets: soft))
        x = try inputs("loss_cross_entropy_pixels", count: 1)
        try check("loss_cross_entropy_pixels", x, crossEntropy(x[0], targets: try targetLabels("loss_cross_entropy_pixels"), weights: [0.2, 1, 3]))
    }

    @Test func distillationAndEmbeddings() throws {
        var x = try inputs("loss_distillation", count: 1)
        let teacher = Golden.tensor(try Golden.array("loss_distillation", "target0"))
        try check("loss_distillation", x, distillationLoss(student: x[0], teacher: teacher, temperature: 2))
        x = try inputs("loss_cosine_embedding", count: 2)
        try check("loss_cosine_embedding", x, cosineEmbeddingLoss(x[0], x[1], targets: try targetLabels("loss_cosine_embedding"), margin: 0.1))
        x = try inputs("loss_margin_ranking", count: 2)
        try check("loss_margin_ranking", x, marginRankingLoss(x[0], x[1], targets: try targetLabels("loss_margin_ranking"), margin: 0.3))
    }

    @Test func imagePriorsAndDice() throws {
        var x = try inputs("loss_total_variation", count: 1)
        try check("loss_total_variation", x, totalVariation(x[0]).l2)
        x = try inputs("loss_soft_dice", count: 1)
        let target = Golden.tensor(try Golden.array("loss_soft_dice", "target0"))
        try check("loss_soft_dice", x, softDiceLoss(probabilities: x[0].softmax(axis: 1), targets: target))
    }
}
