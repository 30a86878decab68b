import ArgumentParser
import Benchmarks
import Dispatch
import Foundation
import TensorCore

extension BenchNet: ExpressibleByArgument {}
extension BenchMode: ExpressibleByArgument {}

/// `medcil bench train`: training and inference img/s, per-layer GFLOP/s and memory, MedCIL vs
/// PyTorch, side by side (the workflow is `TrainBenchmark` in the Benchmarks module).
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training and inference images/s, per-layer convolution GFLOP/s and memory, against PyTorch on the CPU.",
        discussion: """
        Each net runs in its own process (so that peak memory is its own), MedCIL and the PyTorch peer \
        (python/peers/train_torch.py with the identical nets from torch_models.py) in turn, with the same thread \
        count, on synthetic data: training steps (forward, cross-entropy, backward, SGD with momentum), then \
        evaluation-mode forward passes without gradients (PyTorch: model.eval() and torch.inference_mode()). Prints \
        img/s, the ratio MedCIL/PyTorch (above 1.00x: MedCIL is faster), peak resident memory and its ratio, the share \
        of MedCIL's thread time inside GEMM, and the GFLOP/s its GEMMs reached against the sgemm peak measured in the \
        same run. expert-112 is the reference work's expert (Bransby et al. 2024: ResNet-18 with the CIFAR stem at \
        1x112x112, batch 32); expert-112-nmd is its evaluation-mode feature export (logits, pooled features and the 17 \
        NMD signatures from forward hooks). --layers times every distinct convolution shape of the nets instead \
        (forward, backward-data, backward-weight; median of the repeats); --memory prints where a training step's \
        memory goes. --runs N runs every net N times per side, alternating which side goes first, and prints \
        img/s and the ratios as mean ± sd over the runs: timings on a shared machine swing from run to run, on \
        both sides, so a single run's ratio is a sample.
        """
    )

    @Option(parsing: .upToNextOption, help: "Nets: \(BenchNet.allCases.map(\.rawValue).joined(separator: ", ")).")
    var nets: [BenchNet] = BenchNet.allCases

    @Option(help: "Timed steps per net (after warm-up); with --layers, timed repeats per pass.")
    var steps: Int = 8

    @Option(help: "Warm-up steps per net (with --layers: per pass).")
    var warmup: Int = 2

    @Option(help: "Runs of each net per side, MedCIL and PyTorch alternating; with more than one, img/s and ratios are mean ± sd over the runs (one run is a sample: timings on a shared machine swing from run to run).")
    var runs: Int = 1

    @Flag(help: "About a minute per table: fewer steps.")
    var quick = false

    @Flag(help: "Per-layer table: GFLOP/s of each distinct convolution shape, MedCIL and PyTorch.")
    var layers = false

    @Flag(help: "Memory breakdown of one training step per net, MedCIL and PyTorch.")
    var memory = false

    @Option(help: "Python interpreter for the PyTorch peer.")
    var python: String = "python3"

    @Option(help: ArgumentHelp("Measure one net in this process and print JSON (used by the parent run).", visibility: .hidden))
    var child: BenchNet?

    @Option(help: ArgumentHelp("What the child measures.", visibility: .hidden))
    var mode: BenchMode = .train

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be at least 1 and --warmup at least 0") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard runs == 1 || !(layers || memory) else { throw ValidationError("--runs applies to the net tables, not to --layers or --memory") }
        guard !(layers && memory) else { throw ValidationError("--layers and --memory are separate runs; pick one") }
        if mode == .train, let child, !child.trains { throw ValidationError("\(child.rawValue) is measured in --mode inference only") }
    }

    func run() throws {
        let threads = shared.workerCount
        Parallel.threads = threads
        let timed = quick ? 3 : steps, warm = quick ? 1 : warmup
        if let child {
            let json: Data = memory ? try JSONEncoder().encode(MemoryBreakdown.measure(child))
                                    : try JSONEncoder().encode(NetMeasurement.measure(child, mode: mode, steps: timed, warmup: warm, threads: threads))
            print(String(decoding: json, as: UTF8.self))
            return
        }
        let benchmark = TrainBenchmark(nets: nets, steps: timed, warmup: warm, threads: threads, runs: runs,
                                       executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                                       python: python, peer: try PeerScript.path(named: "train_torch.py"), progress: shared.progress.mode)
        let peak = sgemmPeak()
        print("medcil bench train: \(threads) thread\(threads == 1 ? "" : "s"); sgemm peak \(Int(peak)) GFLOP/s")
        print(BLASCore.selection.summary)
        if layers {
            print("per layer: \(warm) warm-up + \(timed) timed runs of each pass, median; GFLOP/s (M: MedCIL, P: PyTorch; ratio: P time / M time)")
            print(try benchmark.layerTable(warmup: warm, repeats: timed).render())
            print("\nGFLOP per pass: 2 N Cout Cin k^2 OH OW (transposed: input positions); bwd-data: the input's gradient, bwd-weight: the weight's.")
        } else if memory {
            print(try benchmark.memoryReport())
        } else {
            print("\(warm) warm-up + \(timed) timed steps per net" + (runs > 1 ? "; \(runs) runs per net and side, alternating (mean ± sd over the runs; ratios per run)" : ""))
            let tables = try benchmark.netTables(sgemmPeak: peak)
            print("training:\n" + tables.training.render())
            print("\ninference:\n" + tables.inference.render())
            print("\nratio: MedCIL img/s over PyTorch img/s (same thread count); MB ratio: MedCIL peak over PyTorch peak. "
                  + "GEMM GFLOP/s: the FLOPs of all GEMMs over the wall time of the steps.")
        }
    }

    /// GFLOP/s of a 1024 x 1024 x 1024 sgemm split over the threads, best of 3.
    func sgemmPeak() -> Double {
        let n = 1024
        let a = Tensor.normal([n, n], generator: RandomGenerator(seed: 2)), b = Tensor.normal([n, n], generator: RandomGenerator(seed: 3))
        var best = 0.0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = Autograd.withNoGrad { a.matmul(b) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, 2 * Double(n * n * n) / seconds / 1e9)
        }
        return best
    }
}
