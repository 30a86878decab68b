import ArrayFiles
import DataLoading
import Foundation
@testable import NeuralNet
import Testing
import TensorCore
import TestSupport

/// Convergence and determinism on small real data.
@Suite struct TrainingBehaviourTests {
    /// The 8x8 handwritten digits of scikit-learn (1797 real images, fetched from the wheel by
    /// scripts/fetch-testdata.sh): a small CNN reaches at least 93% accuracy on a held-out 20%.
    @Test func smallCNNLearnsDigits() throws {
        let images = try NpyArray.read(from: try TestPaths.testData("digits/images.npy"))
        let labels = try NpyArray.read(from: try TestPaths.testData("digits/labels.npy")).values(as: Int64.self).map { Int($0) }
        let all = ArrayDataset(images: images.data.map { Float($0) / 16 }, labels: labels, sampleShape: [1, 8, 8], normalization: (0.3, 0.35))
        let order = RandomGenerator(seed: 42).permutation(all.count)
        let cut = all.count * 8 / 10
        let train = all.subset(Array(order[..<cut])), test = all.subset(Array(order[cut...]))
        NeuralNetRandom.seed(1)
        let model = SmallCNN(inChannels: 1, classes: 10, widths: [16, 32], inputSize: 8)
        let optimizer = Adam(model.parameters(), learningRate: 3e-3)
        let loader = DataLoader(source: train, batchSize: 32, shuffle: true, seed: 7)
        for epoch in 0..<12 {
            model.train()
            try loader.forEachBatch(epoch: epoch) { batch in
                optimizer.zeroGrad()
                crossEntropy(model(batch.images), targets: batch.labels).backward()
                optimizer.step()
            }
        }
        model.eval()
        let evaluation = DataLoader(source: test, batchSize: 128, shuffle: false)
        var correct = 0
        try evaluation.forEachBatch(epoch: 0) { batch in
            let predictions = Autograd.withNoGrad { model(batch.images) }.argmax(axis: 1)
            correct += zip(predictions, batch.labels).filter { $0 == $1 }.count
        }
        let accuracy = Double(correct) / Double(test.count)
        #expect(accuracy >= 0.93, "test accuracy \(accuracy)")
    }

    /// The same seed gives bit-identical weights after several steps (same thread count),
    /// dropout and shuffling included; another seed does not.
    @Test func trainingIsDeterministic() throws {
        func train(seed: UInt64) throws -> [Float] {
            NeuralNetRandom.seed(seed)
            let model = ResNet18(inChannels: 1, classes: 3, width: 4, dropout: 0.1)
            let optimizer = SGD(model.parameters(), learningRate: 0.05, momentum: 0.9)
            let generator = RandomGenerator(seed: 5)
            let data = ArrayDataset(images: (0..<(24 * 16 * 16)).map { _ in Float(generator.uniform()) },
                                    labels: (0..<24).map { $0 % 3 }, sampleShape: [1, 16, 16])
            let loader = DataLoader(source: data, batchSize: 8, shuffle: true, seed: seed, augmentation: .echoViews)
            for epoch in 0..<2 {
                try loader.forEachBatch(epoch: epoch) { batch in
                    optimizer.zeroGrad()
                    crossEntropy(model(batch.images), targets: batch.labels).backward()
                    optimizer.step()
                }
            }
            return model.parameters().flatMap { $0.value.floats() }
        }
        let a = try train(seed: 3), b = try train(seed: 3), c = try train(seed: 4)
        #expect(a == b)
        #expect(a != c)
    }
}

@Suite struct OptimizerAndScheduleTests {
    /// SGD with momentum on float32 runs 16 lanes at a time (`SGD.momentumLanes`) and the rest
    /// value by value; both give the scalar recurrence's values bit for bit, worked here in
    /// float32 with the same operations (d = g + wd p; b = d on the first step, else mu b +
    /// (1 - dampening) d; p -= lr (d + mu b) with Nesterov, else lr b), on 37 values (two
    /// vectors and a tail of 5), three steps, plain and Nesterov, with weight decay and dampening.
    @Test(arguments: [false, true])
    func momentumLanesMatchTheRecurrence(nesterov: Bool) {
        let n = 37
        let generator = RandomGenerator(seed: 12)
        var p = (0..<n).map { _ in Float(generator.uniform(-1, 1)) }
        let parameter = Parameter(Tensor(p, shape: [n]))
        let optimizer = SGD(groups: [ParameterGroup([parameter], learningRate: 0.05, weightDecay: 1e-3)], momentum: 0.9,
                            dampening: nesterov ? 0 : 0.1, nesterov: nesterov)
        let (lr, wd, mu, keep): (Float, Float, Float, Float) = (Float(0.05), Float(1e-3), Float(0.9), Float(1 - (nesterov ? 0 : 0.1)))
        var b = [Float](repeating: 0, count: n)
        for step in 0..<3 {
            let g = (0..<n).map { _ in Float(generator.uniform(-1, 1)) }
            parameter.value.grad = Tensor(g, shape: [n])
            optimizer.step()
            for i in 0..<n {
                let d = g[i] + wd * p[i]
                b[i] = step == 0 ? d : mu * b[i] + keep * d
                p[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
            }
            #expect(parameter.value.floats() == p, "step \(step)")
        }
    }

    @Test func groupWithZeroLearningRateStaysPut() {
        let frozen = Parameter(Tensor([1, 2], shape: [2])), moving = Parameter(Tensor([1, 2], shape: [2]))
        let optimizer = SGD(groups: [ParameterGroup([frozen], learningRate: 0), ParameterGroup([moving], learningRate: 0.5)])
        frozen.value.grad = Tensor([1, 1], shape: [2]); moving.value.grad = Tensor([1, 1], shape: [2])
        optimizer.step()
        #expect(frozen.value.floats() == [1, 2])
        #expect(moving.value.floats() == [0.5, 1.5])
    }

    /// Values worked by hand from each schedule's definition.
    @Test func schedules() {
        var step = StepSchedule(base: 1, stepSize: 2, gamma: 0.5)
        var rates: [Double] = []
        for _ in 0..<5 { rates.append(step.learningRate); step.step() }
        #expect(rates == [1, 1, 0.5, 0.5, 0.25])
        var cosine = CosineWarmupSchedule(base: 1, warmup: 2, total: 6, factor: 0.5)
        rates = []
        for _ in 0..<7 { rates.append(cosine.learningRate); cosine.step() }
        let expected = [0.5, 1, 1, 0.5 * (1 + cos(Double.pi / 4)), 0.5, 0.5 * (1 + cos(3 * Double.pi / 4)), 0]
        #expect(zip(rates, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(rates)")
        var plateau = PlateauSchedule(base: 1, mode: .max, factor: 0.3, patience: 2)
        let metrics = [0.5, 0.6, 0.6, 0.6, 0.6, 0.7]
        let reductions = metrics.map { plateau.step(metric: $0) }
        #expect(reductions == [false, false, false, false, true, false])
        #expect(abs(plateau.learningRate - 0.3) < 1e-12)
        // mode min on an accuracy that rises (the CCSI reference's setting) keeps cutting.
        var inverted = PlateauSchedule(base: 1, mode: .min, factor: 0.3, patience: 1)
        for value in [0.5, 0.6, 0.7, 0.8, 0.9] { inverted.step(metric: value) }
        #expect(inverted.learningRate < 0.1)
    }

    @Test func monteCarloDropoutStaysActiveInEvaluation() {
        let layer = Dropout(0.5)
        layer.eval()
        let x = Tensor.ones([4, 100])
        #expect(Autograd.withNoGrad { layer(x) }.floats() == x.floats())
        layer.monteCarlo = true
        let sampled = Autograd.withNoGrad { layer(x) }.floats()
        #expect(sampled.contains(0) && sampled.contains(2))
    }

    @Test func freezingStopsGradients() {
        let model = Linear(3, 2)
        model.freeze()
        let x = Tensor([1, 2, 3], shape: [1, 3], requiresGrad: true)
        model(x).sum().backward()
        #expect(model.weight.grad == nil && x.grad != nil)
    }

    @Test func hooksSeeDifferentiableActivations() {
        let model = ResNet18(inChannels: 1, classes: 2, width: 4)
        var captured: [Tensor] = []
        for conv in model.mainConvolutions { conv.addForwardHook { _, _, output in captured.append(output) } }
        let x = Tensor.normal([2, 1, 8, 8], generator: RandomGenerator(seed: 1))
        x.requiresGrad = true
        _ = model(x)
        #expect(captured.count == 17)
        captured[5].mean().backward()
        #expect(x.grad != nil)
    }
}
