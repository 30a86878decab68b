@testable import Benchmarks
import Testing

/// The cells of `bench train`'s net tables over one or several runs. Expected strings are worked
/// out by hand from the inputs (sample sd with n - 1, as numpy's std(ddof=1)).
@Suite struct NetRunPairTests {
    /// A MedCIL run at `rate` img/s and `megabytes` peak: 4 steps of batch 64 (so the step is
    /// 64 / rate seconds), 2 threads, half of the thread time in GEMM, 100 GFLOP per step.
    static func ours(_ rate: Double, _ megabytes: Double) -> NetMeasurement {
        let seconds = 64 / rate
        return NetMeasurement(net: "small-cnn-64", mode: .train, imagesPerSecond: rate, secondsPerStep: seconds,
                              peakRSSMegabytes: megabytes, liveHighWaterMegabytes: megabytes / 2,
                              gemmThreadSeconds: 0.5 * seconds * 4 * 2, gemmFlops: 100e9 * 4, threads: 2)
    }

    static func pair(_ rate: Double, _ megabytes: Double, peer: (Double, Double)?) -> NetRunPair {
        NetRunPair(ours: ours(rate, megabytes), theirs: peer.map { NetRunPair.Peer(imagesPerSecond: $0.0, peakMegabytes: $0.1) })
    }

    @Test func oneRunShowsPlainValues() {
        let cells = NetRunPair.cells([Self.pair(348.4, 340, peer: (207, 628))], steps: 4, threads: 2, sgemmPeak: 200)
        // 348.4 / 207 = 1.683; 340 / 628 = 0.541; GEMM: 100 GFLOP per 64/348.4 s = 544 GFLOP/s, 272% of 200.
        #expect(cells == ["348", "207", "1.68x", "340", "628", "0.54x", "50%", "544", "272%"])
    }

    @Test func severalRunsShowMeanAndSdOfPerRunRatios() {
        let runs = [Self.pair(120, 50, peer: (100, 100)), Self.pair(150, 70, peer: (100, 100))]
        let cells = NetRunPair.cells(runs, steps: 4, threads: 2, sgemmPeak: 200)
        // img/s 120, 150: mean 135, sd 30/√2 = 21.2; ratios 1.2, 1.5: mean 1.35, sd 0.212;
        // memory ratios 0.5, 0.7: mean 0.60, sd 0.141; GFLOP/s 100/(64/120) = 187.5 and 234.4, mean 211.
        #expect(cells == ["135 ± 21", "100 ± 0", "1.35x ± 0.21", "60", "100", "0.60x ± 0.14", "50%", "211", "105%"])
    }

    @Test func ratiosUseOnlyTheRunsWhereThePeerRan() {
        let runs = [Self.pair(120, 50, peer: nil), Self.pair(150, 70, peer: (100, 100))]
        let cells = NetRunPair.cells(runs, steps: 4, threads: 2, sgemmPeak: 200)
        #expect(Array(cells[0..<6]) == ["135 ± 21", "100", "1.50x", "60", "100", "0.70x"])
        let failed = NetRunPair.cells([Self.pair(120, 50, peer: nil)], steps: 4, threads: 2, sgemmPeak: 200)
        #expect(Array(failed[0..<6]) == ["120", "n/a", "n/a", "50", "n/a", "n/a"])
    }
}
