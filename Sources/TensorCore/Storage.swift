import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bytes behind a tensor: 64-byte aligned, possibly shared by views (reshapes).
///
/// Training allocates the same buffer sizes every step. `BufferPool` keeps freed buffers by
/// size and hands them out again, so a step neither calls malloc for its activations nor
/// page-faults fresh memory in. It never lets its cache raise the process's peak: see
/// `BufferPool`.
public final class Storage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    /// The buffer's real size: at least `byteCount`, more when the pool served the request
    /// from a larger free buffer (it goes back to the pool under this size).
    let capacity: Int

    /// `transient`: scratch that lives only while one kernel runs (see `BufferPool.take`).
    init(byteCount: Int, zeroed: Bool, transient: Bool = false) {
        self.byteCount = byteCount
        (pointer, capacity) = BufferPool.shared.take(byteCount, transient: transient)
        if zeroed { memset(pointer, 0, byteCount) }
    }

    deinit { BufferPool.shared.give(pointer, capacity: capacity) }

    @inline(__always)
    func typed<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        pointer.assumingMemoryBound(to: T.self)
    }
}

/// Free buffers by size (exact for tensors, up to `fitRatio` larger for kernel scratch). Thread-safe.
///
/// Policy: live + cached <= max(highWater + headroom, floor), where highWater is the most bytes
/// ever live at once, headroom = highWater / 10 (at most 32 MiB) and floor = 384 MiB. A buffer
/// the pool has to malloc (no free one of its size) first evicts cached buffers, largest first,
/// until the sum fits. So the cache fills the room below the step's own peak (the backward pass
/// reuses the forward pass's buffers, the next step the backward's), but on a large net it holds
/// at most the headroom at the peak of live tensors: resident memory peaks near the live peak,
/// not at live + a cache of up to `limit`. Every buffer the backward pass needs that was evicted
/// at the forward pass's peak is page-faulted (zeroed by the kernel) again each step: a few
/// percent of a long step, but up to half of a short one (the small CNN at 64x64: 45% more CPU
/// time). Below the floor the pool therefore keeps what it is given, as it did before: the
/// small nets' whole training footprint (at most about 370 MiB) is below it, while the expert's
/// inference (about 370 MiB live) and every large training run are bounded by the headroom.
/// Buffers from 256 KiB up are mmap-ed
/// (glibc's threshold fixed there, instead of its dynamic one that grows to 32 MiB), so an
/// evicted buffer goes back to the system instead of staying in a heap that grew from step to
/// step (the expert's peak used to grow with the number of steps).
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    /// Most bytes kept in free lists (default 1 GiB; MEDCIL_POOL_MB overrides), besides the
    /// high-water policy.
    public var limit: Int
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var cached = 0
    private var lock = pthread_mutex_t()
    /// Bytes currently handed out, and the most ever at once (for memory reports).
    public private(set) var live = 0
    public private(set) var peakLive = 0
    /// The most bytes ever live at once in this process (not reset by `resetPeak`).
    public private(set) var highWater = 0
    /// What the cache may hold beyond the room below `highWater` (see the policy above).
    static func headroom(highWater: Int) -> Int { min(highWater / 10, 32 << 20) }
    /// Total bytes (live + cached) below which the pool evicts nothing (tests lower it).
    var floor = 384 << 20
    /// Bytes kept in the free lists now (memory reports).
    public var cachedBytes: Int { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return cached }

    init() {
        pthread_mutex_init(&lock, nil)
        let megabytes = ProcessInfo.processInfo.environment["MEDCIL_POOL_MB"].flatMap(Int.init) ?? 1024
        limit = megabytes << 20
        Self.fixMmapThreshold(256 << 10)
    }

    /// glibc's mallopt(M_MMAP_THRESHOLD, bytes), looked up at run time (Swift's Glibc module
    /// does not export malloc.h); MALLOC_MMAP_THRESHOLD_ in the environment takes precedence.
    private static func fixMmapThreshold(_ bytes: Int32) {
        guard ProcessInfo.processInfo.environment["MALLOC_MMAP_THRESHOLD_"] == nil,
              let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in malloc.h
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, bytes)
    }

    /// A buffer of at least `byteCount` bytes and its real size (`capacity`, what `give` takes
    /// back): a free one of exactly that size, else the smallest free one up to `fitRatio` times
    /// larger, else a new one.
    func take(_ byteCount: Int, transient: Bool = false) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        let size = max(byteCount, 1)
        pthread_mutex_lock(&lock)
        if let fit = cachedFit(size, larger: transient), var list = free[fit], let pointer = list.popLast() {
            free[fit] = list.isEmpty ? nil : list
            cached -= fit
            live += fit
            peakLive = max(peakLive, live)
            pthread_mutex_unlock(&lock)
            return (pointer, fit)
        }
        live += size
        peakLive = max(peakLive, live)
        highWater = max(highWater, live)
        let evicted = evict(toFit: max(highWater + Self.headroom(highWater: highWater), floor) - live)
        pthread_mutex_unlock(&lock)
        for pointer in evicted { Glibc.free(pointer) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else { fatalError("out of memory allocating \(size) bytes") }
        return (raw, size)
    }

    /// How much larger than the request a reused free buffer may be. A step allocates the same
    /// sizes every time, but not in the same order in every phase: with exact sizes only, every
    /// size keeps its own buffers, and the cache (U-Net inference: 164 MiB live at most) grew to
    /// the floor. Serving a request from a somewhat larger free buffer lets sizes share them.
    static let fitRatio = 2

    /// The size of the free buffer to serve `size` from (lock held): `size` itself when one is
    /// free, else, when a `larger` one may serve, the smallest free size below `fitRatio * size`
    /// that keeps live bytes within the high-water (a larger buffer at the peak of a step would
    /// raise the peak by the difference: the expert's training peak rose 4% that way); nil when
    /// none.
    private func cachedFit(_ size: Int, larger: Bool) -> Int? {
        if free[size] != nil { return size }
        guard larger else { return nil }
        var best: Int?
        for candidate in free.keys where candidate > size && candidate < Self.fitRatio * size && live + candidate <= highWater {
            if best.map({ candidate < $0 }) ?? true { best = candidate }
        }
        return best
    }

    func give(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let size = capacity
        pthread_mutex_lock(&lock)
        live -= size
        // Small buffers are cheap to malloc; keep the large ones that recur every step.
        if size >= 4096 && cached + size <= limit {
            free[size, default: []].append(pointer)
            cached += size
            pthread_mutex_unlock(&lock)
            return
        }
        pthread_mutex_unlock(&lock)
        Glibc.free(pointer)
    }

    /// Takes cached buffers out, largest first, until at most `room` bytes stay cached (lock held).
    private func evict(toFit room: Int) -> [UnsafeMutableRawPointer] {
        guard cached > room else { return [] }
        var evicted: [UnsafeMutableRawPointer] = []
        for size in free.keys.sorted(by: >) {
            guard var list = free[size] else { continue }
            while cached > room, let pointer = list.popLast() {
                evicted.append(pointer)
                cached -= size
            }
            free[size] = list.isEmpty ? nil : list
            if cached <= room { break }
        }
        return evicted
    }

    /// The size a scratch request of `bytes` takes: from 1 MiB up, the next power of two. The
    /// kernels' scratch comes in a size per layer (Winograd's transformed weights and units,
    /// column matrices), and below the floor the pool cached one buffer of each: 26 sizes for
    /// U-Net's inference. Rounded, they share a few classes; scratch lives only while one
    /// kernel runs, so the rounding costs at most that kernel's scratch again, briefly.
    /// U-Net's inference peak 297 -> 228 MB, ResNet-18-64's training 363 -> 321 MB, the small
    /// CNN's at 64x64 294 -> 255 MB; ResNet-18-64's inference 141 -> 149 MB.
    static func scratchBytes(_ bytes: Int) -> Int {
        bytes < 1 << 20 ? bytes : 1 << (Int.bitWidth - (bytes - 1).leadingZeroBitCount)
    }

    /// Releases every cached buffer.
    public func trim() {
        pthread_mutex_lock(&lock)
        let lists = free
        free = [:]
        cached = 0
        pthread_mutex_unlock(&lock)
        for (_, list) in lists { for pointer in list { Glibc.free(pointer) } }
    }

    /// Resets the high-water mark to what is live now.
    public func resetPeak() {
        pthread_mutex_lock(&lock)
        peakLive = live
        pthread_mutex_unlock(&lock)
    }
}

/// Runs `body` with a scratch buffer of `count` elements (pooled, uninitialised), kept alive
/// for exactly the body's duration.
@inline(__always)
func withScratch<T, R>(_: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
    let bytes = BufferPool.scratchBytes(Swift.max(count, 1) * MemoryLayout<T>.stride)
    let storage = Storage(byteCount: bytes, zeroed: false, transient: true)
    return try withExtendedLifetime(storage) { try body(storage.typed(T.self)) }
}
