import Foundation
import NeuralNet
import Segmentation
import TensorCore
import TestSupport
import Testing

/// A small U-Net (base 2) with a few training-mode passes so BatchNorm has running statistics.
func smallUNet(seed: UInt64, heads: [Int] = [2]) -> UNet {
    NeuralNetRandom.seed(seed)
    let model = UNet(inChannels: 1, base: 2, heads: heads, dropout: 0.5)
    let generator = RandomGenerator(seed: seed + 1)
    for _ in 0..<2 { _ = Autograd.withNoGrad { model(Tensor.normal([2, 1, 32, 32], generator: generator), head: 0) } }
    return model
}

@Suite struct MonteCarloDropoutTests {
    @Test func varianceIsZeroWithoutDropoutAndPositiveWithIt() throws {
        NeuralNetRandom.seed(1)
        let model = UNet(inChannels: 1, base: 2, heads: [2], dropout: 0.5)
        let images = Tensor.normal([3, 1, 32, 32], generator: RandomGenerator(seed: 9))
        let off = try MonteCarloDropout(passes: 5, dropoutActive: false).uncertainties(model: model, head: 0, images: images, batchSize: 2)
        #expect(off.count == 3 && off.allSatisfy { $0.count == 2 && $0.allSatisfy { $0 == 0 } })
        let on = try MonteCarloDropout(passes: 5).uncertainties(model: model, head: 0, images: images)
        #expect(on.allSatisfy { $0.allSatisfy { $0 > 0 } }, "\(on)")
        // Two classes: p_0 = 1 − p_1 per pass, so both classes have the same variance (up to
        // float32 rounding of the probabilities).
        #expect(on.allSatisfy { abs($0[0] - $0[1]) <= 1e-3 * $0[0] }, "\(on)")
        // The model is back in training mode with MC dropout off.
        #expect(model.training)
        #expect(model.namedModules().compactMap { $0.1 as? Dropout }.allSatisfy { !$0.monteCarlo })
        #expect(throws: SegmentationError.self) { try MonteCarloDropout(passes: 2).uncertainties(model: model, head: 1, images: images) }
    }

    /// u is the mean over pixels of the population variance over passes of softmax_c: the
    /// same passes recomputed here (same dropout streams) with a two-pass variance.
    @Test func uncertaintyIsTheMeanPixelVariance() throws {
        let model = smallUNet(seed: 2)
        let images = Tensor.normal([2, 1, 32, 32], generator: RandomGenerator(seed: 4))
        let dropouts = model.namedModules().compactMap { $0.1 as? Dropout }
        func reseed() { for (k, layer) in dropouts.enumerated() { layer.reseed(UInt64(100 + k)) } }
        reseed()
        let u = try MonteCarloDropout(passes: 4).uncertainties(model: model, head: 0, images: images, batchSize: 2)
        reseed()
        model.eval()
        for layer in dropouts { layer.monteCarlo = true }
        let passes = (0..<4).map { _ in Autograd.withNoGrad { model(images, head: 0).softmax(axis: 1).floats() } }
        for layer in dropouts { layer.monteCarlo = false }
        let pixels = 32 * 32
        for i in 0..<2 {
            for c in 0..<2 {
                var total = 0.0
                for p in 0..<pixels {
                    let k = (i * 2 + c) * pixels + p
                    let values = passes.map { Double($0[k]) }
                    let mean = values.reduce(0, +) / 4
                    total += values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
                }
                #expect(abs(u[i][c] - total / Double(pixels)) <= 1e-9 * max(total / Double(pixels), 1e-12), "slice \(i) class \(c)")
            }
        }
    }

    @Test func mostCertainSlicesContainTheClass() throws {
        let u = [0.5, 0.1, 0.3, 0.1, 0.05, 0.2]
        let contains = [true, true, true, true, false, true]
        #expect(try MonteCarloDropout.mostCertain(uncertainty: u, contains: contains, k: 3) == [1, 3, 5])
        #expect(try MonteCarloDropout.mostCertain(uncertainty: u, contains: contains, k: 10) == [1, 3, 5, 2, 0])
        #expect(throws: SegmentationError.self) { try MonteCarloDropout.mostCertain(uncertainty: [.nan], contains: [true], k: 1) }
    }
}

@Suite struct DescriptorTests {
    /// Descriptors are per-channel spatial means of bottleneck.1 in evaluation mode, whatever the
    /// batching: recomputed here from one whole-batch pass through a forward hook.
    @Test func abstractionDescriptorsAreSpatialMeansOfTheBottleneck() throws {
        let model = smallUNet(seed: 3)
        let images = Tensor.normal([5, 1, 32, 32], generator: RandomGenerator(seed: 8))
        let (values, dims) = try AbstractionDescriptors.compute(model: model, images: images, batchSize: 2)
        #expect(dims == 32 && values.count == 5 * 32)
        model.eval()
        var captured: Tensor?
        let hook = model.bottleneck[1].addForwardHook { _, _, output in captured = output }
        _ = Autograd.withNoGrad { model(images, head: 0) }
        model.bottleneck[1].removeForwardHook(hook)
        model.train()
        let activations = captured!, maps = activations.floats()
        let area = activations.shape[2] * activations.shape[3]
        let expected = (0..<(5 * 32)).map { k in maps[(k * area)..<((k + 1) * area)].reduce(0, +) / Float(area) }
        #expect(relativeError(values, expected) <= 1e-5)
    }

    /// d(i, j) = Σ_l mean((a_i^l − a_j^l)²), computed directly here for a two-layer extractor.
    @Test func contentDistanceSumsLayerMeanSquaredDifferences() throws {
        let folder = TestPaths.temporaryDirectory("content")
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = Tensor.normal([5, 1, 4, 6], generator: RandomGenerator(seed: 2))
        let extractor: (Tensor) throws -> [Tensor] = { x in [x * 2, x.mean(axes: [2, 3])] }
        let distances = try ContentDistances(images: images, batchSize: 2, scratch: folder.appendingPathComponent("f.npy"), extractor: extractor)
        #expect(distances.layerSizes == [24, 1] && distances.count == 5)
        let x = images.floats().map(Double.init)
        for i in 0..<5 {
            let row = distances.row(i)
            for j in 0..<5 {
                let a = x[(i * 24)..<((i + 1) * 24)], b = x[(j * 24)..<((j + 1) * 24)]
                let first = zip(a, b).map { pow(2 * $0 - 2 * $1, 2) }.reduce(0, +) / 24
                let second = pow(a.reduce(0, +) / 24 - b.reduce(0, +) / 24, 2)
                #expect(abs(row[j] - (first + second)) <= 1e-5 * max(first + second, 1e-9))
            }
        }
        let normalised = MinMaxNormalized(distances)
        let all = (0..<5).flatMap { normalised.row($0) }
        #expect(all.min()! == 0 && abs(all.max()! - 1) <= 1e-12)
        #expect(throws: SegmentationError.self) {
            try ContentDistances(images: images, scratch: folder.appendingPathComponent("g.npy")) { x in [x.reshaped([1, x.count])] }
        }
    }
}

@Suite struct ExemplarSelectionTests {
    /// The pipeline on a small model: representatives come from the candidates, candidates
    /// contain the structure and are the most certain of those, and the cover is the greedy one.
    @Test func representativesAreCoveringCertainSlicesOfTheStructure() throws {
        NeuralNetRandom.seed(4)
        let model = UNet(inChannels: 1, base: 2, heads: [2], dropout: 0.5)
        let images = Tensor.normal([10, 1, 32, 32], generator: RandomGenerator(seed: 6))
        let contains = (0..<10).map { $0 % 3 != 0 }
        let (descriptors, dims) = try AbstractionDescriptors.compute(model: model, images: images)
        let distances = try abstractionDistances(descriptors: descriptors, dims: dims)
        let settings = ExemplarSettings(capacity: 10, representatives: 2, candidates: 4, monteCarloPasses: 3)
        let structure = ExemplarSelection.Structure(name: "humerus", head: 0, label: 1, contains: contains)
        let picks = try ExemplarSelection.select(model: model, images: images, structures: [structure], distances: distances, settings: settings)[0]
        #expect(picks.candidates.count == 4 && picks.candidates.allSatisfy { contains[$0] })
        #expect(picks.representatives.count == 2 && Set(picks.representatives).isSubset(of: Set(picks.candidates)))
        #expect(picks.representatives == naiveGreedy((0..<10).map { distances.row($0) }, candidates: picks.candidates, k: 2))
        #expect(throws: SegmentationError.self) {
            try ExemplarSelection.select(model: model, images: images, structures: [.init(name: "x", head: 0, label: 2, contains: contains)],
                                         distances: distances, settings: settings)
        }
    }
}

@Suite struct SoftTargetTests {
    /// Soft targets are the evaluation-mode softmax (dropout off even when MC dropout was on),
    /// batched or not; the model's modes are restored.
    @Test func softTargetsAreTheDeterministicSoftmax() throws {
        NeuralNetRandom.seed(5)
        let model = UNet(inChannels: 1, base: 2, heads: [2, 2], dropout: 0.5)
        let images = Tensor.normal([3, 1, 32, 32], generator: RandomGenerator(seed: 1))
        let dropouts = model.namedModules().compactMap { $0.1 as? Dropout }
        for layer in dropouts { layer.monteCarlo = true }
        let targets = try SoftTargets.compute(model: model, head: 1, images: images, batchSize: 2)
        #expect(dropouts.allSatisfy(\.monteCarlo) && model.training)
        for layer in dropouts { layer.monteCarlo = false }
        model.eval()
        let reference = Autograd.withNoGrad { model(images, head: 1).softmax(axis: 1) }
        #expect(targets.shape == [3, 2, 32, 32])
        #expect(relativeError(targets.floats(), reference.floats()) <= 1e-6)
    }
}

@Suite struct EncoderFeatureTests {
    /// The five maps are the second block of every level (shapes halve, widths double) and the
    /// last one is the abstraction layer the descriptors average.
    @Test func encoderFeaturesAreTheSecondBlockOfEveryLevel() throws {
        let model = smallUNet(seed: 7)
        let images = Tensor.normal([2, 1, 32, 32], generator: RandomGenerator(seed: 3))
        let maps = EncoderFeatures.activations(model: model, images: images)
        #expect(maps.map(\.shape) == [[2, 2, 32, 32], [2, 4, 16, 16], [2, 8, 8, 8], [2, 16, 4, 4], [2, 32, 2, 2]])
        #expect(model.training && !model.enc0[1].hasForwardHooks)
        let (descriptors, _) = try AbstractionDescriptors.compute(model: model, images: images)
        #expect(relativeError(maps[4].mean(axes: [2, 3]).floats(), descriptors) <= 1e-6)
        // They feed the content distance like any extractor.
        let folder = TestPaths.temporaryDirectory("encoder-content")
        defer { try? FileManager.default.removeItem(at: folder) }
        let distances = try ContentDistances(images: images, scratch: folder.appendingPathComponent("f.npy")) {
            EncoderFeatures.activations(model: model, images: $0)
        }
        #expect(distances.layerSizes == [2048, 1024, 512, 256, 128])
        #expect(distances.row(0)[0] == 0 && distances.row(0)[1] > 0)
    }
}
