import ArgumentParser
import ClassIncremental
import Console
import Foundation

/// `medcil bench synthesis`: CCSI synthesis iterations/s, MedCIL against PyTorch in one run.
struct BenchSynthesis: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesis",
        abstract: "Class-impression synthesis iterations/s (CCSI's loop, batch 40 at 1x32x32) against PyTorch on the CPU.",
        discussion: """
        Runs the loop in MedCIL, then the PyTorch peer (python/peers/synthesis_torch.py, the same net from torch_models.py \
        and the same losses) with the same thread count, and prints both and the ratio (above 1.00x: MedCIL is faster). \
        A second MedCIL row runs one batch per thread at once, as `medcil cil run` spreads a task's independent batches.
        """
    )

    @Option(help: "Timed iterations.")
    var iterations: Int = 20

    @Option(help: "Warm-up iterations.")
    var warmup: Int = 2

    @Option(help: "Python interpreter for the PyTorch peer.")
    var python: String = "python3"

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard iterations >= 1, warmup >= 0 else { throw ValidationError("--iterations must be at least 1 and --warmup at least 0") }
    }

    func run() throws {
        let threads = shared.workerCount
        let ours = SynthesisBenchmark.oneBatch(iterations: iterations, warmup: warmup, threads: threads)
        let spread = threads > 1 ? SynthesisBenchmark.batchesInParallel(iterations: iterations, threads: threads) : nil
        let peer = try PeerScript.path(named: "synthesis_torch.py")
        let theirs = try Subprocess.run(python, [peer.path, "--iterations", String(iterations), "--warmup-iterations", String(warmup),
                                                 "--threads", String(threads)])
        guard theirs.status == 0, let line = theirs.output.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let torchRate = object["iterations_per_second"] as? Double else {
            throw ValidationError("the PyTorch peer failed: \(theirs.output.suffix(500))")
        }
        var table = TextTable(header: ["loop", "iterations/s", "pytorch iterations/s", "ratio"], rightAligned: [1, 2, 3])
        table.add(["one batch, \(threads) kernel threads", String(format: "%.2f", ours), String(format: "%.2f", torchRate), String(format: "%.2fx", ours / torchRate)])
        if let spread {
            table.add(["\(threads) batches at once, 1 thread each", String(format: "%.2f", spread), String(format: "%.2f", torchRate),
                       String(format: "%.2fx", spread / torchRate)])
        }
        print("medcil bench synthesis: \(threads) thread\(threads == 1 ? "" : "s"), \(warmup) warm-up + \(iterations) timed iterations, batch 40 at 1x32x32")
        print(table.render())
    }
}
