import ClassIncremental
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// Synthesis against a model trained on the first digits task: the returned batch must have a
/// lower statistics loss and a lower target-class cross-entropy than its starting point.
@Suite struct SynthesisTests {
    @Test(arguments: [NormKind.continual, .batch])
    func lowersStatisticsAndCrossEntropy(_ norm: NormKind) throws {
        var config = TinySequence.config(methods: [norm == .continual ? "ccsi" : "ci"])
        config.training.baseEpochs = 3
        let data = try TinySequence.data(config)
        let context = TaskContext(config: config, data: data, task: 0, log: { _ in })
        let method = try MethodRegistry.builtIn.method(named: config.methods[0])
        // Weights and dropout draw from this thread's generator; seeded as SequenceRun seeds
        // it, so that the model does not depend on which tests ran before on this thread.
        NeuralNetRandom.seed(17)
        let outcome = try method.learn(context, previous: nil, memory: MethodMemory())
        var settings = config.synthesis
        settings.iterations = 60
        settings.warmup = 5
        let synthesis = ImpressionSynthesis(settings: settings, tvL2: 0.01)
        outcome.model.net.eval()
        let labels = (0..<16).map { $0 % 2 }
        let (_, trace) = synthesis.synthesize(model: outcome.model, labels: labels, classMeans: outcome.memory.classMeans!,
                                              imageShape: data.train.shape, seed: 3)
        #expect(trace.statisticsAfter < trace.statisticsBefore, "statistics \(trace.statisticsBefore) -> \(trace.statisticsAfter)")
        #expect(trace.crossEntropyAfter < trace.crossEntropyBefore, "CE \(trace.crossEntropyBefore) -> \(trace.crossEntropyAfter)")
        #expect(trace.bestLoss < trace.firstLoss)
    }
}
