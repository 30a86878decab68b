import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Persistent kernel threads that wait for work spinning, then sleeping: the runner of
/// `Parallel.forEachChunk`.
///
/// A training step runs a few hundred parallel regions of 0.05 to 5 ms each. Through
/// `DispatchQueue.concurrentPerform`, a region's second chunk waits for a parked libdispatch
/// worker to wake up, and when the calling thread finishes its own chunk first it takes that
/// chunk itself: in ResNet-18 training on two threads the calling thread ran 63% of all
/// samples and the step used 1.2 cores. Here chunk i always runs on thread i (0 is the caller),
/// and a worker spins for `spinNanoseconds` after each region before it sleeps, so the next
/// region starts at once. That is what OpenMP runtimes (PyTorch's peer) do as well.
///
/// One caller at a time: a region started while another runs (a nested region inside a chunk,
/// or a second thread of the process calling kernels at the same moment) goes to
/// `concurrentPerform` as before. Chunks are the same either way, so results do not depend on
/// which runner took them.
final class WorkerPool: @unchecked Sendable {
    /// How long an idle worker spins before it sleeps: longer than the gap between regions in
    /// a step (graph bookkeeping, allocation), short enough not to hold a core between steps.
    static let spinNanoseconds: UInt64 = 300_000

    /// The pool for this process: `Parallel`'s default thread count minus the caller.
    static let shared = WorkerPool(workers: Parallel.defaultThreads - 1)

    let workers: Int
    /// Bumped once per region; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Workers that have not finished the current region.
    private let pending = Atomic<Int>(0)
    /// Whether a region is running (the one-caller rule).
    private let busy = Atomic<Bool>(false)
    /// The current region (read by workers after they see the new generation).
    private var body: ((Int) -> Void)?
    private var chunks = 0
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()

    private init(workers: Int) {
        self.workers = Swift.max(0, workers)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for index in 0..<self.workers {
            let thread = Thread { [unowned self] in self.serve(chunk: index + 1) }
            thread.name = "medcil.kernel.\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(0..<chunks)`, chunk i on thread i, if the pool is free and large enough;
    /// returns false (running nothing) otherwise.
    func run(chunks: Int, _ body: (Int) -> Void) -> Bool {
        guard chunks - 1 <= workers, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.chunks = chunks
            pending.store(workers, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            // Wake sleeping workers (cheap when none sleeps: no waiter on the condition).
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins &+= 1
                // A worker that the scheduler took off its core: let it have ours.
                if spins & 0xFFF == 0 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func serve(chunk: Int) {
        var seen = 0
        while true {
            seen = waitForRegion(after: seen)
            if chunk < chunks { body?(chunk) }
            pending.subtract(1, ordering: .releasing)
        }
    }

    /// Spins until the generation moves past `seen`, then sleeps on the condition.
    private func waitForRegion(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let now = generation.load(ordering: .acquiring)
            if now != seen { return now }
            spins &+= 1
            if spins & 0xFF == 0 && DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds { break }
        }
        pthread_mutex_lock(&mutex)
        var now = generation.load(ordering: .acquiring)
        while now == seen {
            pthread_cond_wait(&wake, &mutex)
            now = generation.load(ordering: .acquiring)
        }
        pthread_mutex_unlock(&mutex)
        return now
    }
}
