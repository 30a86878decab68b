import Console
import Dispatch
import Foundation
import TensorCore

/// `medcil bench train`: MedCIL against the PyTorch peer on the same nets, shapes and thread
/// count, side by side in one run. Each net's training and inference are measured in their own
/// process (so that peak memory is the net's own): MedCIL through `executable` with the child
/// arguments below, PyTorch through `python peer`.
public struct TrainBenchmark {
    public var nets: [BenchNet]
    public var steps: Int
    public var warmup: Int
    public var threads: Int
    /// Runs of each net and mode per side (`netTables`): timings on a shared machine swing from
    /// run to run, on both sides, so one run is a sample, not a measurement.
    public var runs: Int
    /// The medcil executable (children run `medcil bench train --child NET --mode MODE ...`).
    public var executable: String
    public var python: String
    /// python/peers/train_torch.py.
    public var peer: URL
    /// Progress of `netTables`, one unit per child process.
    public var progress: ProgressReporter.Mode

    public init(nets: [BenchNet], steps: Int, warmup: Int, threads: Int, runs: Int = 1, executable: String, python: String, peer: URL,
                progress: ProgressReporter.Mode = .off) {
        (self.nets, self.steps, self.warmup, self.threads, self.runs) = (nets, steps, warmup, threads, runs)
        (self.executable, self.python, self.peer, self.progress) = (executable, python, peer, progress)
    }

    /// The arguments of the child process that measures `net` in `mode` and prints its JSON.
    public func childArguments(_ net: BenchNet, _ mode: BenchMode) -> [String] {
        ["bench", "train", "--child", net.rawValue, "--mode", mode.rawValue, "--threads", String(threads),
         "--steps", String(steps), "--warmup", String(warmup)]
    }

    private var peerCommon: [String] { ["--threads", String(threads)] }

    // MARK: - nets

    /// The training table (nets that train) and the inference table (every net in evaluation
    /// mode, expert-112-nmd with its hooks), with `sgemmPeak` for the GEMM columns. Each net and
    /// mode runs `runs` times per side, MedCIL and PyTorch alternating (which side goes first
    /// alternates too, so a drift in the machine's speed meets both alike); with several runs
    /// the cells are mean ± sd over them and the ratios are over the paired runs.
    public func netTables(sgemmPeak: Double) throws -> (training: TextTable, inference: TextTable) {
        let header = ["medcil img/s", "pytorch img/s", "ratio", "medcil MB", "pytorch MB", "MB ratio", "GEMM share", "GEMM GFLOP/s", "of peak"]
        var training = TextTable(header: ["net"] + header, rightAligned: Set(1...9))
        var inference = TextTable(header: ["net (eval, no grad)"] + header, rightAligned: Set(1...9))
        let jobs = BenchMode.allCases.flatMap { mode in nets.filter { mode == .inference || $0.trains }.map { (net: $0, mode: mode) } }
        let reporter = ProgressReporter(label: "bench train", total: jobs.count * runs * 2, unit: "runs", mode: progress)
        for (net, mode) in jobs {
            var pairs: [NetRunPair] = []
            for run in 0..<runs {
                var ours: NetMeasurement?, theirs: PeerResults.NetRow?
                for side in run % 2 == 0 ? [0, 1] : [1, 0] {
                    if side == 0 { ours = try measureOurs(net, mode) } else { theirs = measurePeer(net, mode) }
                    reporter.advance()
                }
                pairs.append(NetRunPair(ours: ours!, theirs: theirs.map { NetRunPair.Peer(imagesPerSecond: $0.images_per_second, peakMegabytes: $0.peak_rss_mb) }))
            }
            let row = [net.summary] + NetRunPair.cells(pairs, steps: steps, threads: threads, sgemmPeak: sgemmPeak)
            if mode == .train { training.add(row) } else { inference.add(row) }
        }
        reporter.finish()
        return (training, inference)
    }

    private func measureOurs(_ net: BenchNet, _ mode: BenchMode) throws -> NetMeasurement {
        let ours = try Subprocess.run(executable, childArguments(net, mode))
        guard ours.status == 0 else { throw BenchmarkError(message: "MedCIL \(net.rawValue) \(mode.rawValue) failed: \(ours.output.suffix(600))") }
        return try PeerResults.decode(NetMeasurement.self, from: ours.output, what: "MedCIL \(net.rawValue) \(mode.rawValue)")
    }

    /// The peer's row, or nil (its output on standard error) when it failed: the table says n/a.
    private func measurePeer(_ net: BenchNet, _ mode: BenchMode) -> PeerResults.NetRow? {
        let arguments = [peer.path, net.rawValue, "--mode", mode.rawValue, "--steps", String(steps), "--warmup", String(warmup)] + peerCommon
        guard let theirs = try? Subprocess.run(python, arguments) else { return nil }
        let row = theirs.status == 0 ? try? PeerResults.decode(PeerResults.NetRow.self, from: theirs.output, what: "PyTorch") : nil
        if row == nil { FileHandle.standardError.write(Data("PyTorch peer, \(net.rawValue) \(mode.rawValue): \(theirs.output.suffix(400))\n".utf8)) }
        return row
    }

    // MARK: - layers

    /// Every distinct convolution shape of the nets (first use first), timed in this process and
    /// by the peer on the same shapes, shape by shape: GFLOP/s of forward, backward-data and
    /// backward-weight.
    public func layerTable(warmup: Int, repeats: Int) throws -> TextTable {
        var uses: [ConvShape: (nets: [String], count: Int)] = [:]
        var order: [ConvShape] = []
        for net in nets where net.trains {
            for (shape, count) in ConvShape.distinct(net.convolutions) {
                if uses[shape] == nil { order.append(shape); uses[shape] = ([], 0) }
                uses[shape]!.nets.append(net.rawValue)
                uses[shape]!.count += count
            }
        }
        let peer = try LayerPeer(python: python, arguments: [self.peer.path, "--layers", "-", "--warmup", String(warmup),
                                                             "--repeats", String(repeats)] + peerCommon)
        defer { peer.finish() }
        var ours: [ConvTiming] = [], theirs: [PeerResults.LayerRow] = []
        for shape in order {
            ours.append(ConvTiming.measure(shape, warmup: warmup, repeats: repeats))
            theirs.append(try peer.time(shape))
            guard theirs.last!.shape == shape else { throw BenchmarkError(message: "the PyTorch peer timed \(theirs.last!.shape) for \(shape)") }
        }
        var table = TextTable(header: ["shape", "nets", "uses", "GFLOP", "fwd M", "fwd P", "ratio", "bwd-data M", "bwd-data P", "ratio",
                                       "bwd-weight M", "bwd-weight P", "ratio"], rightAligned: Set(2...12))
        var totals = (ours: [0.0, 0, 0], theirs: [0.0, 0, 0], flops: 0.0)
        for (mine, peer) in zip(ours, theirs) {
            let use = uses[mine.shape]!
            let gflop = mine.shape.flops / 1e9
            let m = [mine.forward, mine.backwardData, mine.backwardWeight], p = [peer.forward, peer.backward_data, peer.backward_weight]
            var row = [mine.shape.description, use.nets.joined(separator: ","), String(use.count), String(format: "%.2f", gflop)]
            for pass in 0..<3 {
                row += [String(format: "%.0f", gflop / m[pass]), String(format: "%.0f", gflop / p[pass]), String(format: "%.2fx", p[pass] / m[pass])]
                totals.ours[pass] += Double(use.count) * m[pass]
                totals.theirs[pass] += Double(use.count) * p[pass]
            }
            totals.flops += Double(use.count) * gflop
            table.add(row)
        }
        var row = ["all uses, weighted by count", "", "", String(format: "%.1f", totals.flops)]
        for pass in 0..<3 {
            row += [String(format: "%.0f", totals.flops / totals.ours[pass]), String(format: "%.0f", totals.flops / totals.theirs[pass]),
                    String(format: "%.2fx", totals.theirs[pass] / totals.ours[pass])]
        }
        table.add(row)
        return table
    }

    // MARK: - memory

    /// Where a training step's memory goes, for each net that trains: MedCIL's breakdown (child
    /// process `--child NET --mode train --memory`) beside the peer's.
    public func memoryReport() throws -> String {
        var text = ""
        for net in nets where net.trains {
            let ours = try Subprocess.run(executable, childArguments(net, .train) + ["--memory"])
            guard ours.status == 0 else { throw BenchmarkError(message: "MedCIL \(net.rawValue) memory failed: \(ours.output.suffix(600))") }
            let m = try PeerResults.decode(MemoryBreakdown.self, from: ours.output, what: "MedCIL \(net.rawValue) memory")
            let output = try Subprocess.run(python, [peer.path, net.rawValue, "--memory"] + peerCommon)
            let p = output.status == 0 ? try? PeerResults.decode(PeerResults.Memory.self, from: output.output, what: "PyTorch") : nil
            if p == nil { FileHandle.standardError.write(Data("PyTorch peer, \(net.rawValue) memory: \(output.output.suffix(400))\n".utf8)) }
            text += MemoryReport.render(m, peer: p) + "\n"
        }
        return text
    }
}
