import Dispatch
import Foundation
import Synchronization

/// Work splitting for kernels. Ranges are cut into a fixed number of contiguous chunks that
/// depends only on the problem size and `Parallel.threads`, never on timing, so results are
/// bit-identical run to run for the same thread count.
public enum Parallel {
    /// Worker threads for kernels (default: all cores; MEDCIL_THREADS overrides). Reading it
    /// gives the calling thread's override from `withThreads` when one is in effect; setting it
    /// sets the process default.
    public static var threads: Int {
        get {
            if let raw = pthread_getspecific(overrideKey) { return Int(bitPattern: raw) }
            return processThreads
        }
        set { processThreads = max(1, newValue) }
    }

    nonisolated(unsafe) private static var processThreads: Int = defaultThreads

    /// MEDCIL_THREADS, else the cores this process may use (what `WorkerPool` is sized for).
    static let defaultThreads: Int = {
        if let value = ProcessInfo.processInfo.environment["MEDCIL_THREADS"].flatMap(Int.init), value > 0 { return value }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// This thread's kernel thread count while `withThreads` runs (no value: the process default).
    private static let overrideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with `count` kernel threads on the calling thread only. Work that runs
    /// independent jobs side by side (synthesis batches, segmentation cases) gives each job one
    /// kernel thread this way, so each job's numbers do not depend on the worker count, and
    /// other work in the process (tests run concurrently) keeps its own thread count: changing
    /// the process default for that would change their numbers.
    public static func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(overrideKey)
        pthread_setspecific(overrideKey, UnsafeRawPointer(bitPattern: max(1, count)))
        defer { pthread_setspecific(overrideKey, previous) }
        return try body()
    }

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
        func run(_ chunk: Int) {
            let range = chunkRange(chunk, of: count, chunks: chunks)
            if !range.isEmpty { body(chunk, range) }
        }
        if !WorkerPool.shared.run(chunks: chunks, run) {
            DispatchQueue.concurrentPerform(iterations: chunks, execute: run)
        }
    }

    /// Runs `body(task)` for every task of `0..<count`, the threads taking the next task as they
    /// finish one. The tasks are fixed by the caller, so which thread runs a task never changes
    /// a result; only the balance does: on a shared machine one core is often slower or taken
    /// away for a while, and with a fixed split the other then waits at the region's end (10%
    /// of ResNet-18's training samples were that wait).
    public static func forEachTask(_ count: Int, _ body: (_ task: Int) -> Void) {
        let chunks = Swift.min(threads, count)
        guard chunks > 1 else {
            for task in 0..<count { body(task) }
            return
        }
        let next = Atomic<Int>(0)
        forEachChunk(chunks) { _, _ in
            while true {
                let task = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if task >= count { return }
                body(task)
            }
        }
    }

    /// The range of 0..<count that chunk `chunk` of `chunks` covers (`forEachChunk`'s split).
    @inline(__always)
    static func chunkRange(_ chunk: Int, of count: Int, chunks: Int) -> Range<Int> {
        chunk * count / chunks..<(chunk + 1) * count / chunks
    }

    /// Number of chunks `forEachChunk` will use.
    public static func chunkCount(_ count: Int, grain: Int = 1) -> Int {
        max(1, min(threads, count / max(grain, 1)))
    }
}
