import Foundation
import Dispatch
import Testing
@testable import TensorCore

/// `Parallel.forEachChunk` through `WorkerPool`: every index exactly once, with nested regions
/// and with several threads calling at the same time (those fall back to libdispatch).
@Suite struct WorkerPoolTests {
    /// Runs `regions` regions of `count` items and returns how often each index was visited.
    static func visits(count: Int, threads: Int, regions: Int, nested: Bool = false) -> [Int] {
        var hits = [Int](repeating: 0, count: count * (nested ? 4 : 1))
        hits.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            Parallel.withThreads(threads) {
                for _ in 0..<regions {
                    Parallel.forEachChunk(count) { _, range in
                        for i in range {
                            if nested {
                                // A region inside a chunk: its own chunks cover 0..<4.
                                Parallel.forEachChunk(4) { _, inner in for j in inner { base[i * 4 + j] += 1 } }
                            } else {
                                base[i] += 1
                            }
                        }
                    }
                }
            }
        }
        return hits
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func everyIndexOnce(count: Int) {
        for threads in [1, 2, Parallel.defaultThreads] {
            #expect(Self.visits(count: count, threads: threads, regions: 50) == [Int](repeating: 50, count: count))
        }
    }

    /// `forEachTask`: every task exactly once whatever thread takes it, with 1 to 3 threads and
    /// fewer, as many and more tasks than threads (a task that sleeps makes the other thread
    /// take the rest).
    @Test(arguments: [1, 2, 5, 64])
    func everyTaskOnce(count: Int) {
        for threads in [1, 2, 3] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                Parallel.withThreads(threads) {
                    for _ in 0..<20 {
                        Parallel.forEachTask(count) { task in
                            if task == 0 { usleep(200) }
                            base[task] += 1
                        }
                    }
                }
            }
            #expect(hits == [Int](repeating: 20, count: count), "threads \(threads)")
        }
    }

    @Test func nestedRegions() {
        #expect(Self.visits(count: 9, threads: 2, regions: 20, nested: true) == [Int](repeating: 20, count: 36))
    }

    /// Four threads each run 200 regions at once: none is lost, none deadlocks, each thread's
    /// sums are its own.
    @Test func concurrentCallers() {
        var totals = [Int](repeating: 0, count: 4)
        totals.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: 4) { caller in
                let hits = Self.visits(count: 64 + caller, threads: 2, regions: 200)
                base[caller] = hits.reduce(0, +)
            }
        }
        #expect(totals == (0..<4).map { 200 * (64 + $0) })
    }
}
