import DataLoading
import Foundation
@testable import Incremental
import NeuralNet
import TensorCore
import Testing
import Training

/// Fine-tuning as Bransby et al. 2024 run it (docs/methods/weighted-experts.md): one bias-free
/// `Linear(D, 1)` head per canonical class, cross-entropy over the current site's heads only,
/// the other heads frozen, the backbone trained. Two steps on the phantom sites a and b of
/// `PhantomRun` (b's 2 views are among a's 8).
@Suite(.serialized) struct FineTuningHeadsTests {
    static let settings = TrainingSettings(epochs: 1, batchSize: 32, learningRate: 3e-3, seed: 10)

    static func site(_ k: Int) throws -> (train: ShardDataset, validation: ShardDataset) {
        (try ShardDataset(folder: PhantomRun.sites[k], split: "train"), try ShardDataset(folder: PhantomRun.sites[k], split: "val"))
    }

    /// Keys and shapes as PyTorch names an `nn.ModuleList` of `nn.Linear(D, 1, bias=False)`
    /// heads over the small CNN (D = 8w x 2 x 2 at 32x32, w = 8): `head.<k>.weight` [1, D], one
    /// per canonical class, no bias, and the backbone's own single head gone.
    @Test func headsAreBiasFreeOnePerClassWithPyTorchKeys() throws {
        let a = try Self.site(0)
        let job = FineTuning.job(previous: nil, classifier: PhantomRun.settings.classifier, site: a.train, validation: a.validation,
                                 settings: Self.settings)
        let classes = a.train.description.classes.count
        let model = job.spec.build()
        let named = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.value.shape) })
        let width = 8 * 8 * 2 * 2
        for k in 0..<classes { #expect(named["head.\(k).weight"] == [1, width], "head \(k): \(String(describing: named["head.\(k).weight"]))") }
        #expect(named.keys.filter { $0.hasPrefix("head.") }.count == classes, "one head per class, no bias: \(named.keys.sorted())")
        #expect(named["head.weight"] == nil && named["head.bias"] == nil)
        #expect(named["blocks.0.conv.weight"] != nil, "the backbone keeps its keys")
        // Only the site's classes are trained at step 0, and predictions use those heads.
        #expect(job.spec.outputClasses == job.spec.classes.filter { a.train.description.siteClassNames.contains($0) })
    }

    /// The logits of the active heads are those columns of the logits of all heads (the
    /// softmax of the loss never sees another class), s_k = w_k · f(x), in the order given.
    @Test func activeHeadsGiveTheirOwnColumnsOnly() throws {
        let a = try Self.site(0)
        let spec = PhantomRun.settings.classifier.withPerClassHeads(a.train.description.classes.sorted { $0.value < $1.value }.map(\.key),
                                                                    trained: [])
        NeuralNetRandom.seed(3)
        let model = try #require(spec.build() as? PerClassHeadClassifier)
        model.eval()
        let loader = DataLoader(source: a.train, batchSize: 8, shuffle: false)
        var images: Tensor?
        try loader.forEachBatch(epoch: 0) { batch in if images == nil { images = batch.images } }
        let x = try #require(images)
        model.focus(on: Array(0..<spec.classes.count))
        let all = Autograd.withNoGrad { model(x) }.floats()
        let chosen = [5, 1, 9]
        model.focus(on: chosen)
        let some = Autograd.withNoGrad { model(x) }.floats()
        let n = spec.classes.count
        // The same dot products, summed in another blocking by the matrix product: equal to float rounding.
        let scale = all.map(abs).max()!
        #expect(scale > 0)
        for i in 0..<8 {
            for (j, k) in chosen.enumerated() {
                #expect(abs(some[i * chosen.count + j] - all[i * n + k]) <= 1e-5 * scale, "sample \(i) head \(k): \(some[i * chosen.count + j]) vs \(all[i * n + k])")
            }
        }
    }

    /// After a step on site b, the heads of every class b does not have are bit-identical to
    /// the previous step's, b's heads and the backbone have moved, and the model predicts over
    /// every head trained so far (a's and b's classes).
    @Test func otherClassesHeadsStayFrozenWhileBackboneTrains() throws {
        let a = try Self.site(0), b = try Self.site(1)
        let first = FineTuning.job(previous: nil, classifier: PhantomRun.settings.classifier, site: a.train, validation: a.validation,
                                   settings: Self.settings)
        let (stepZero, _) = try first.run()
        let before = try Checkpoint.stateDict(stepZero).tensors.mapValues { try $0.floats() }
        let second = FineTuning.job(previous: (stepZero, first.spec), classifier: PhantomRun.settings.classifier, site: b.train,
                                    validation: b.validation, settings: Self.settings)
        let (stepOne, _) = try second.run()
        let after = try Checkpoint.stateDict(stepOne).tensors.mapValues { try $0.floats() }
        #expect(Set(before.keys) == Set(after.keys))

        let bClasses = Set(b.train.description.siteClassNames)
        var frozen = 0, moved = 0
        for (k, name) in second.spec.classes.enumerated() {
            let key = "head.\(k).weight"
            if bClasses.contains(name) {
                #expect(before[key] != after[key], "head of \(name), a class of site b, trained")
                moved += 1
            } else {
                #expect(before[key] == after[key], "head of \(name) (not a class of site b) is bit-identical after the step")
                frozen += 1
            }
        }
        #expect(moved == bClasses.count && frozen == second.spec.classes.count - bClasses.count && frozen > 0)
        #expect(before["blocks.0.conv.weight"] != nil && before["blocks.0.conv.weight"] != after["blocks.0.conv.weight"], "the backbone trains")

        let expected = Set(a.train.description.siteClassNames).union(bClasses)
        #expect(Set(second.spec.outputClasses) == expected)
        let predicting = FineTuning.predicting(stepOne, spec: second.spec)
        let logits = try Evaluate.logits(predicting, on: b.validation)
        #expect(logits.logits.first?.count == expected.count)
    }
}
