import Metrics

/// One run of a net on both sides: MedCIL's child measurement and the PyTorch peer's img/s and
/// peak (nil when the peer failed), and the table cells over several such runs.
struct NetRunPair {
    struct Peer {
        var imagesPerSecond: Double
        var peakMegabytes: Double
    }

    var ours: NetMeasurement
    var theirs: Peer?

    /// The cells after the net's name: img/s of both sides, their ratio, peak MB of both sides,
    /// its ratio, MedCIL's GEMM share of thread time, its GEMM GFLOP/s and their share of
    /// `sgemmPeak`. With one run, plain values; with several, img/s and both ratios as
    /// mean ± sd (sample sd, n - 1), each ratio taken within a run and then summarised (the
    /// peer's timing moves with the machine as MedCIL's does, so a ratio of means would mix
    /// the two runs' machine states), and the rest as means. "n/a" where the peer failed in
    /// every run; ratios use the runs where it did not.
    static func cells(_ runs: [NetRunPair], steps: Int, threads: Int, sgemmPeak: Double) -> [String] {
        precondition(!runs.isEmpty, "no runs to summarise")
        let paired = runs.compactMap { run in run.theirs.map { (ours: run.ours, theirs: $0) } }
        let ours = Spread(runs.map(\.ours.imagesPerSecond))
        let theirs = paired.isEmpty ? nil : Spread(paired.map(\.theirs.imagesPerSecond))
        let speed = paired.isEmpty ? nil : Spread(paired.map { $0.ours.imagesPerSecond / $0.theirs.imagesPerSecond })
        let memory = paired.isEmpty ? nil : Spread(paired.map { $0.ours.peakRSSMegabytes / $0.theirs.peakMegabytes })
        let wall = runs.map { $0.ours.secondsPerStep * Double(steps) }
        let share = mean(zip(runs, wall).map { $0.ours.gemmThreadSeconds / max($1 * Double(threads), 1e-9) })
        let gflops = mean(zip(runs, wall).map { $0.ours.gemmFlops / max($1, 1e-9) / 1e9 })
        return [rate(ours), theirs.map(rate) ?? "n/a", speed.map(ratio) ?? "n/a",
                String(format: "%.0f", mean(runs.map(\.ours.peakRSSMegabytes))),
                paired.isEmpty ? "n/a" : String(format: "%.0f", mean(paired.map(\.theirs.peakMegabytes))),
                memory.map(ratio) ?? "n/a",
                String(format: "%.0f%%", 100 * share), String(format: "%.0f", gflops),
                String(format: "%.0f%%", 100 * gflops / max(sgemmPeak, 1e-9))]
    }

    /// img/s: whole numbers from 100 up, one decimal below.
    static func rate(_ s: Spread) -> String { text(s, s.mean >= 100 ? "%.0f" : "%.1f", suffix: "") }

    /// A ratio with two decimals and "x".
    static func ratio(_ s: Spread) -> String { text(s, "%.2f", suffix: "x") }

    private static func text(_ s: Spread, _ format: String, suffix: String) -> String {
        let value = String(format: format, s.mean) + suffix
        return s.values.count < 2 ? value : value + " ± " + String(format: format, s.sd)
    }

    private static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(values.count, 1)) }
}
