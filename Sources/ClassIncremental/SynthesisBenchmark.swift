import Dispatch
import Foundation
import NeuralNet
import Support
import TensorCore

/// The measurement behind `medcil bench synthesis`: CCSI's synthesis loop (the reference's
/// small net with Continual Normalization, 1x32x32, 4 classes, batch 40, every regulariser) as
/// iterations/s, the same loop python/peers/synthesis_torch.py runs in PyTorch.
public enum SynthesisBenchmark {
    /// Iterations/s of one batch with the kernels on `threads` threads.
    public static func oneBatch(iterations: Int, warmup: Int, threads: Int) -> Double {
        Parallel.threads = threads
        let (model, synthesis, labels, start) = setup(iterations: iterations + warmup)
        var warm = synthesis
        warm.settings.iterations = warmup
        _ = warm.synthesize(model: model, labels: labels, start: start, imageShape: [1, 32, 32], generator: RandomGenerator(seed: 2))
        let began = DispatchTime.now().uptimeNanoseconds
        _ = synthesis.synthesize(model: model, labels: labels, start: start, imageShape: [1, 32, 32], generator: RandomGenerator(seed: 2))
        return Double(synthesis.settings.iterations) / (Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9)
    }

    /// Iterations/s summed over `threads` independent batches run at once (one kernel thread
    /// each), as `medcil cil run` spreads a task's batches.
    public static func batchesInParallel(iterations: Int, threads: Int) -> Double {
        let setups = (0..<threads).map { _ in setup(iterations: iterations) }
        let began = DispatchTime.now().uptimeNanoseconds
        _ = parallelMap(threads, workers: threads) { k in
            let (model, synthesis, labels, start) = setups[k]
            return Parallel.withThreads(1) {
                synthesis.synthesize(model: model, labels: labels, start: start, imageShape: [1, 32, 32], generator: RandomGenerator(seed: UInt64(k))).trace.bestLoss
            }
        }
        return Double(iterations * threads) / (Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9)
    }

    static func setup(iterations: Int) -> (IncrementalNet, ImpressionSynthesis, [Int], [Float]) {
        NeuralNetRandom.seed(0)
        let model = IncrementalNet(inChannels: 1, imageSize: 32, classes: 4, norm: .continual)
        let generator = RandomGenerator(seed: 1)
        model.net.train()
        _ = Autograd.withNoGrad { model.logits(Tensor.uniform([40, 1, 32, 32], low: 0, high: 1, generator: generator)) }
        model.net.eval()
        for p in model.net.parameters() { p.frozen = true }
        var settings = SequenceConfig.Synthesis()
        settings.iterations = iterations
        let labels = (0..<40).map { _ in generator.int(below: 4) }
        let start = (0..<(40 * 1024)).map { _ in Float(generator.uniform() + generator.normal() / 10) }
        return (model, ImpressionSynthesis(settings: settings, tvL2: 0.01), labels, start)
    }
}
