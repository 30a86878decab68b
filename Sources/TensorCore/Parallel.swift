import Dispatch
import Foundation

/// Work splitting for kernels. Ranges are cut into a fixed number of contiguous chunks that
/// depends only on the problem size and `Parallel.threads`, never on timing, so results are
/// bit-identical run to run for the same thread count.
public enum Parallel {
    /// Worker threads for kernels (default: all cores; MEDCIL_THREADS overrides).
    nonisolated(unsafe) public static var threads: Int = {
        if let value = ProcessInfo.processInfo.environment["MEDCIL_THREADS"].flatMap(Int.init), value > 0 { return value }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body(chunk, range)` over `0..<count` split into at most `threads` chunks of at
    /// least `grain` items each.
    @inline(__always)
    public static func forEachChunk(_ count: Int, grain: Int = 1, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(threads, count / max(grain, 1)))
        if chunks == 1 {
            body(0, 0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lo = chunk * count / chunks, hi = (chunk + 1) * count / chunks
            if lo < hi { body(chunk, lo..<hi) }
        }
    }

    /// Number of chunks `forEachChunk` will use.
    public static func chunkCount(_ count: Int, grain: Int = 1) -> Int {
        max(1, min(threads, count / max(grain, 1)))
    }
}
