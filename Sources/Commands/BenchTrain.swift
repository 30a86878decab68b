import ArgumentParser
import Console
import Foundation
import Incremental
import NeuralNet
import TensorCore

/// The nets of the training benchmark (the same definitions as the PyTorch peer's).
enum TrainBenchNet: String, ExpressibleByArgument, CaseIterable, Sendable {
    case smallCNN64 = "small-cnn-64"
    case smallCNN28 = "small-cnn-28"
    case resNet18 = "resnet18-64"
    case uNet = "unet-128"
    /// The reference work's expert (Bransby et al. 2024): ResNet-18 with the CIFAR stem at
    /// 1x112x112, batch 32, trained.
    case expert = "expert-112"
    /// The same expert in evaluation mode exporting features: logits, pooled features and the
    /// 17 NMD signatures from forward hooks, without gradients.
    case expertExport = "expert-112-nmd"

    var batch: Int {
        switch self {
        case .uNet: return 8
        case .expert, .expertExport: return 32
        default: return 64
        }
    }
    var inputShape: [Int] {
        switch self {
        case .smallCNN64, .resNet18: return [1, 64, 64]
        case .smallCNN28: return [3, 28, 28]
        case .uNet: return [1, 128, 128]
        case .expert, .expertExport: return [1, 112, 112]
        }
    }
    var classes: Int {
        switch self {
        case .uNet: return 3
        case .expert, .expertExport: return 8
        default: return 10
        }
    }
    /// Whether a step is a training step (forward, cross-entropy, backward, SGD) or a feature export.
    var trains: Bool { self != .expertExport }
    var summary: String {
        switch self {
        case .smallCNN64: return "small CNN 32-64-128-256, 1x64x64, batch 64"
        case .smallCNN28: return "small CNN 32-64-128-256, 3x28x28, batch 64"
        case .resNet18: return "ResNet-18 ImageNet stem, 1x64x64, batch 64"
        case .uNet: return "U-Net base 32, 1x128x128, batch 8, 3 classes"
        case .expert: return "expert: ResNet-18 CIFAR stem, 1x112x112, batch 32"
        case .expertExport: return "expert feature export + 17 NMD hooks, eval, batch 32"
        }
    }

    func build() -> Module {
        switch self {
        case .smallCNN64: return SmallCNN(inChannels: 1, classes: 10, inputSize: 64)
        case .smallCNN28: return SmallCNN(inChannels: 3, classes: 10, inputSize: 28)
        case .resNet18: return ResNet18(inChannels: 1, classes: 10, width: 64, stem: .imagenet, dropout: 0)
        case .uNet: return UNet(inChannels: 1, base: 32, heads: [3], dropout: 0.5)
        case .expert, .expertExport: return ResNet18(inChannels: 1, classes: 8, width: 64, stem: .cifar, dropout: 0.1)
        }
    }
}

/// One net's measurement, as the child process reports it.
struct TrainMeasurement: Codable {
    var net: String
    var imagesPerSecond: Double
    var secondsPerStep: Double
    var peakRSSMegabytes: Double
    var gemmThreadSeconds: Double
    var gemmFlops: Double
    var threads: Int
}

/// `medcil bench train`: images/s of full training steps, MedCIL vs PyTorch, side by side.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Images/s of training steps (forward, cross-entropy, backward, SGD) and of the expert's feature export, against PyTorch on the CPU.",
        discussion: """
        Each net runs in its own process (so that peak memory is its own), first MedCIL, then the PyTorch peer \
        (python/peers/train_torch.py with the identical nets from torch_models.py) with the same thread \
        count, on synthetic data. Prints img/s, the ratio MedCIL/PyTorch (above 1.00x: MedCIL is faster), peak \
        resident memory, the share of MedCIL's thread time inside GEMM, and the GFLOP/s its GEMMs reached against \
        the sgemm peak measured in the same run. expert-112 is the reference work's expert (Bransby et al. 2024: \
        ResNet-18 with the CIFAR stem at 1x112x112, batch 32); expert-112-nmd is its evaluation-mode feature export \
        (logits, pooled features and the 17 NMD signatures from forward hooks, no gradients).
        """
    )

    @Option(parsing: .upToNextOption, help: "Nets: \(TrainBenchNet.allCases.map(\.rawValue).joined(separator: ", ")).")
    var nets: [TrainBenchNet] = TrainBenchNet.allCases

    @Option(help: "Timed steps per net (after warm-up).")
    var steps: Int = 8

    @Option(help: "Warm-up steps per net.")
    var warmup: Int = 2

    @Flag(help: "About a minute: fewer steps.")
    var quick = false

    @Option(help: "Python interpreter for the PyTorch peer.")
    var python: String = "python3"

    @Option(help: ArgumentHelp("Measure one net in this process and print JSON (used by the parent run).", visibility: .hidden))
    var child: TrainBenchNet?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard steps >= 1, warmup >= 0 else { throw ValidationError("--steps must be at least 1 and --warmup at least 0") }
    }

    func run() throws {
        let threads = shared.workerCount
        Parallel.threads = threads
        let timed = quick ? 3 : steps, warm = quick ? 1 : warmup
        if let child {
            let measurement = measure(child, steps: timed, warmup: warm, threads: threads)
            print(String(decoding: try JSONEncoder().encode(measurement), as: UTF8.self))
            return
        }
        let peak = sgemmPeak(threads: threads)
        print("medcil bench train: \(threads) thread\(threads == 1 ? "" : "s"), \(warm) warm-up + \(timed) timed steps per net; sgemm peak \(Int(peak)) GFLOP/s")
        print(BLASCore.selection.summary)
        var table = TextTable(header: ["net", "medcil img/s", "pytorch img/s", "ratio", "medcil MB", "pytorch MB", "GEMM share", "GEMM GFLOP/s", "of peak"],
                              rightAligned: Set(1...8))
        let peer = try PeerScript.path(named: "train_torch.py")
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        for net in nets {
            let ours = try Subprocess.run(executable, ["bench", "train", "--child", net.rawValue, "--threads", String(threads),
                                                       "--steps", String(timed), "--warmup", String(warm)])
            guard ours.status == 0, let line = ours.output.split(separator: "\n").last,
                  let m = try? JSONDecoder().decode(TrainMeasurement.self, from: Data(line.utf8)) else {
                throw ValidationError("measuring \(net.rawValue) failed: \(ours.output.suffix(500))")
            }
            let theirs = try? Subprocess.run(python, [peer.path, net.rawValue, "--threads", String(threads), "--steps", String(timed),
                                                      "--warmup", String(warm)])
            var torchRate: Double?, torchMB: Double?
            if let theirs, theirs.status == 0, let line = theirs.output.split(separator: "\n").last,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                torchRate = object["images_per_second"] as? Double
                torchMB = object["peak_rss_mb"] as? Double
            }
            let wall = m.secondsPerStep * Double(timed)
            let share = m.gemmThreadSeconds / max(wall * Double(threads), 1e-9)
            let gflops = m.gemmFlops / max(wall, 1e-9) / 1e9
            table.add([net.summary, String(format: "%.1f", m.imagesPerSecond), torchRate.map { String(format: "%.1f", $0) } ?? "n/a",
                       torchRate.map { String(format: "%.2fx", m.imagesPerSecond / $0) } ?? "n/a",
                       String(format: "%.0f", m.peakRSSMegabytes), torchMB.map { String(format: "%.0f", $0) } ?? "n/a",
                       String(format: "%.0f%%", 100 * share), String(format: "%.0f", gflops), String(format: "%.0f%%", 100 * gflops / max(peak, 1e-9))])
        }
        print(table.render())
        print("\nratio: MedCIL img/s over PyTorch img/s (same thread count). GEMM GFLOP/s: the FLOPs of all GEMMs over the wall time of the steps.")
    }

    /// Full training steps of one net on synthetic data.
    func measure(_ net: TrainBenchNet, steps: Int, warmup: Int, threads: Int) -> TrainMeasurement {
        NeuralNetRandom.seed(0)
        let model = net.build()
        model.train()
        let optimizer = SGD(model.parameters(), learningRate: 0.01, momentum: 0.9)
        let generator = RandomGenerator(seed: 1)
        let x = Tensor.normal([net.batch] + net.inputShape, generator: generator)
        let targetsPerSample = net == .uNet ? net.inputShape[1] * net.inputShape[2] : 1
        let targets = (0..<(net.batch * targetsPerSample)).map { _ in generator.int(below: net.classes) }
        if !net.trains { model.eval() }
        func step() {
            guard net.trains else {
                _ = NeuralMeanDiscrepancy.forward(model, x)
                return
            }
            optimizer.zeroGrad()
            let logits = model(x)
            crossEntropy(logits, targets: targets).backward()
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        GEMM.resetProfile()
        GEMM.profiling = true
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps)
        GEMM.profiling = false
        let profile = GEMM.profile
        return TrainMeasurement(net: net.rawValue, imagesPerSecond: Double(net.batch) / seconds, secondsPerStep: seconds,
                                peakRSSMegabytes: Double(PeakMemory.residentKiB()) / 1024, gemmThreadSeconds: profile.seconds,
                                gemmFlops: profile.flops, threads: threads)
    }

    /// GFLOP/s of a 1024 x 1024 x 1024 sgemm split over the threads, best of 3.
    func sgemmPeak(threads: Int) -> Double {
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
