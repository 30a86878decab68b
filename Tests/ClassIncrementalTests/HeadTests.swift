import ClassIncremental
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

@Suite struct HeadTests {
    /// Imprinting (methods.md 2.5): w_c = normalize(mean_i normalize(f(x_i))) * mean_k |w_old_k|,
    /// recomputed here in double precision from the backbone's features of each new class.
    @Test func imprintingEqualsItsFormula() throws {
        NeuralNetRandom.seed(5)
        let model = IncrementalNet(inChannels: 1, imageSize: 16, classes: 3, norm: .batch)
        model.expand(newClasses: 2)
        let generator = RandomGenerator(seed: 9)
        let images = ImageSet(pixels: (0..<(10 * 256)).map { _ in Float(generator.uniform()) }, labels: [3, 4, 3, 3, 4, 4, 3, 0, 4, 3], shape: [1, 16, 16])
        let old = (model.net.fc as! SplitCosineLinear).fc1.weight.value.floats()
        model.imprint(images: images)
        let d = model.featureSize
        let oldNorm = (0..<3).map { k in Double(old[(k * d)..<((k + 1) * d)].reduce(Float(0)) { $0 + $1 * $1 }).squareRoot() }.reduce(0, +) / 3
        model.net.eval()
        let features = Autograd.withNoGrad { model.features(images.batch(Array(0..<10))).floats() }
        let rows = (model.net.fc as! SplitCosineLinear).fc2.weight.value.floats()
        for (row, c) in [3, 4].enumerated() {
            let members = images.labels.indices.filter { images.labels[$0] == c }
            var mean = [Double](repeating: 0, count: d)
            for i in members {
                let f = features[(i * d)..<((i + 1) * d)].map(Double.init)
                let length = f.map { $0 * $0 }.reduce(0, +).squareRoot()
                for k in 0..<d { mean[k] += f[k] / length / Double(members.count) }
            }
            let length = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
            let expected = mean.map { $0 / length * oldNorm }
            let error = (0..<d).map { abs(Double(rows[row * d + $0]) - expected[$0]) }.max()!
            #expect(error < 1e-5, "class \(c): imprinted row differs by \(error)")
        }
    }

    /// The old rows of the split head (fc1) are frozen through a CCSI update: the task-2 model's
    /// fc1 equals the task-1 model's whole head bit for bit, while fc2 and sigma moved.
    @Test func oldRowsStayBitIdenticalThroughAnUpdate() throws {
        let config = TinySequence.config(methods: ["ccsi"])
        let data = try TinySequence.data(config)
        let method = CCSIMethod()
        let first = try method.learn(TaskContext(config: config, data: data, task: 0, log: { _ in }), previous: nil, memory: MethodMemory())
        let before = (first.model.net.fc as! CosineLinear).weight.value.floats()
        let second = try method.learn(TaskContext(config: config, data: data, task: 1, log: { _ in }), previous: first.model, memory: first.memory)
        let split = second.model.net.fc as! SplitCosineLinear
        #expect(split.fc1.weight.value.floats() == before)
        #expect(split.fc2.weight.value.shape == [2, second.model.featureSize])
        // The update did train: the backbone changed.
        #expect((second.model.net as! CCSINet).conv.weight.value.floats() != (first.model.net as! CCSINet).conv.weight.value.floats())
    }
}
