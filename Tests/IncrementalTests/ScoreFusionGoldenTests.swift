import ArrayFiles
import Foundation
@testable import Incremental
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// The score-fusion networks of Bransby et al. 2024 (SF and nmd-wSF, methods.md 1.8) against
/// PyTorch: Tests/Golden/fusion_{sf,nmd_wsf}, written by `python3 Tests/Golden/make_golden.py
/// fusion_sf fusion_nmd_wsf` from `ScoreFusion` in python/peers/torch_models.py. Four
/// experts with overlapping label spaces, the same weights and inputs give the same pooled
/// logits, expert weights and parameter gradients (normwise relative error <= 1e-4, as for the
/// other goldens), and the parameter counts at the reference sizes are the reference code's.
@Suite struct ScoreFusionGoldenTests {
    struct Case: Decodable {
        struct Reference: Decodable {
            var sf: Int
            var nmd_wsf_mlp: Int
            var attn_wsf_mlp: Int
            var class_counts: [Int]
            var feature_dim: Int
            var nmd_dim: Int
        }
        var method: String
        var expert_classes: [[String]]
        var taxonomy: [String: Int]
        var feature_dim: Int
        var nmd_dim: Int
        var parameters: Int
        var reference_parameters: Reference
    }

    static func folder(_ name: String) -> URL { TestPaths.root.appendingPathComponent("Tests/Golden/\(name)") }

    static func spec(_ name: String) throws -> Case {
        try JSONDecoder().decode(Case.self, from: Data(contentsOf: folder(name).appendingPathComponent("case.json")))
    }

    static func tensor(_ name: String, _ file: String) throws -> Tensor {
        let array = try NpyArray.read(from: folder(name).appendingPathComponent("\(file).npy"))
        return Tensor(array.floatValues(), shape: array.shape)
    }

    static func error(_ ours: [Float], _ reference: [Float]) -> Float {
        precondition(ours.count == reference.count)
        let scale = max(reference.map(abs).max() ?? 0, 1e-6)
        return zip(ours, reference).map { abs($0 - $1) }.max()! / scale
    }

    static func parameterCount(_ module: Module) -> Int { module.parameters().reduce(0) { $0 + $1.value.count } }

    @Test(arguments: ["fusion_sf", "fusion_nmd_wsf"])
    func matchesPyTorch(_ name: String) throws {
        let spec = try Self.spec(name)
        let method = try #require(FusionMethod(rawValue: spec.method))
        let pooler = try KnowledgePooler(expertClasses: spec.expert_classes, taxonomy: spec.taxonomy)
        let network = ScoreFusionNetwork(method: method, pooler: pooler, featureDimension: spec.feature_dim, nmdDimension: spec.nmd_dim)
        try Checkpoint.load(network, from: Self.folder(name).appendingPathComponent("weights.safetensors"), strict: true)
        #expect(Self.parameterCount(network) == spec.parameters)

        let (pooled, weights) = network(features: try Self.tensor(name, "features"), logits: try Self.tensor(name, "logits"),
                                        nmd: try Self.tensor(name, "nmd"))
        let expected = try Self.tensor(name, "pooled")
        #expect(pooled.shape == expected.shape)
        #expect(Self.error(pooled.floats(), expected.floats()) <= 1e-4, "pooled logits")
        if method == .sf {
            #expect(weights == nil)
        } else {
            let expectedWeights = try Self.tensor(name, "expert_weights")
            let ours = try #require(weights)
            #expect(ours.shape == expectedWeights.shape)
            #expect(Self.error(ours.floats(), expectedWeights.floats()) <= 1e-4, "expert weights")
        }

        (pooled * (try Self.tensor(name, "probe"))).sum().backward()
        let grads = try SafeTensors.read(from: Self.folder(name).appendingPathComponent("grads.safetensors"))
        let named = network.namedParameters()
        #expect(named.count == grads.tensors.count)
        for (key, parameter) in named {
            let reference = try #require(grads.tensors[key], "PyTorch has no gradient for \(key)")
            let grad = try #require(parameter.grad, "no gradient for \(key)")
            #expect(Self.error(grad.floats(), try reference.floats()) <= 1e-4, "gradient \(key)")
        }
    }

    /// At the reference sizes (experts with 8, 2, 11 and 4 classes, 512-d features, 4 x 3904 NMD
    /// values): 12 cross-expert heads with 38,475 parameters, and a weighting MLP of 1,000,596
    /// (nmd-wSF) or 132,244 (attn-wSF), as PyTorch counts them (and methods.md 1.8 states).
    @Test func parameterCountsAtTheReferenceSizes() throws {
        let reference = try Self.spec("fusion_nmd_wsf").reference_parameters
        let classes = reference.class_counts.enumerated().map { e, count in (0..<count).map { "e\(e)c\($0)" } }
        var taxonomy: [String: Int] = [:]
        for name in classes.joined() { taxonomy[name] = taxonomy.count }
        let pooler = try KnowledgePooler(expertClasses: classes, taxonomy: taxonomy)
        func count(_ method: FusionMethod) -> Int {
            Self.parameterCount(ScoreFusionNetwork(method: method, pooler: pooler, featureDimension: reference.feature_dim,
                                                   nmdDimension: reference.nmd_dim))
        }
        let sf = ScoreFusionNetwork(method: .sf, pooler: pooler, featureDimension: reference.feature_dim, nmdDimension: reference.nmd_dim)
        #expect(sf.cross.count == 12)
        #expect(count(.sf) == reference.sf)
        #expect(count(.nmdWSF) - count(.sf) == reference.nmd_wsf_mlp)
        #expect(count(.attnWSF) - count(.sf) == reference.attn_wsf_mlp)
    }
}
