import Console
import Dispatch
import Incremental
import NeuralNet
import TensorCore

/// What one net is measured doing.
public enum BenchMode: String, Codable, Sendable, CaseIterable {
    /// Full training steps: forward, cross-entropy, backward, SGD with momentum.
    case train
    /// Evaluation-mode forward passes without gradients (expert-112-nmd: the feature export
    /// with its 17 NMD hooks).
    case inference
}

/// One net's measurement in its own process, as the child reports it to the parent run.
public struct NetMeasurement: Codable, Sendable {
    public var net: String
    public var mode: BenchMode
    public var imagesPerSecond: Double
    public var secondsPerStep: Double
    public var peakRSSMegabytes: Double
    /// The most tensor bytes ever live at once in the child (`BufferPool.highWater`): the part of
    /// the peak that is the net's own, without the pool's cache and the process's code and
    /// libraries.
    public var liveHighWaterMegabytes: Double
    /// Thread-seconds inside GEMM and the FLOPs the GEMMs did over the timed steps.
    public var gemmThreadSeconds: Double
    public var gemmFlops: Double
    public var threads: Int

    /// Times `steps` steps after `warmup` untimed ones, on the net's synthetic batch.
    public static func measure(_ net: BenchNet, mode: BenchMode, steps: Int, warmup: Int, threads: Int) -> NetMeasurement {
        precondition(mode == .inference || net.trains, "\(net.rawValue) has no training mode")
        NeuralNetRandom.seed(0)
        let model = net.build()
        let (x, targets) = net.syntheticBatch()
        let step: () -> Void
        switch mode {
        case .train:
            model.train()
            let optimizer = SGD(model.parameters(), learningRate: 0.01, momentum: 0.9)
            step = {
                optimizer.zeroGrad()
                crossEntropy(model(x), targets: targets).backward()
                optimizer.step()
            }
        case .inference:
            model.eval()
            if net == .expertExport {
                step = { _ = NeuralMeanDiscrepancy.forward(model, x) }
            } else {
                step = { _ = Autograd.withNoGrad { model(x) } }
            }
        }
        for _ in 0..<warmup { step() }
        GEMM.resetProfile()
        GEMM.profiling = true
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
        GEMM.profiling = false
        let profile = GEMM.profile
        return NetMeasurement(net: net.rawValue, mode: mode, imagesPerSecond: Double(net.batch) / seconds, secondsPerStep: seconds,
                              peakRSSMegabytes: Double(PeakMemory.residentKiB()) / 1024,
                              liveHighWaterMegabytes: Double(BufferPool.shared.highWater) / 1048576, gemmThreadSeconds: profile.seconds,
                              gemmFlops: profile.flops, threads: threads)
    }
}
