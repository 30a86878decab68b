import Testing
@testable import TensorCore

/// The buffer pool's policy: above its floor, cached + live never exceeds the most ever live
/// plus the headroom (highWater / 10, at most 32 MiB), so the cache does not raise the peak; below
/// the floor it evicts nothing. A private pool, not the shared one other tests allocate from.
@Suite struct BufferPoolPolicyTests {
    static let mib = 1 << 20

    @Test func cacheIsEvictedBeforeItRaisesThePeak() {
        let pool = BufferPool()
        pool.floor = 0
        let mib = Self.mib
        // Two 10 MiB buffers live at once: the high-water is 20 MiB; freed, both are cached.
        let a = pool.take(10 * mib), b = pool.take(10 * mib)
        pool.give(a, byteCount: 10 * mib)
        pool.give(b, byteCount: 10 * mib)
        #expect(pool.highWater == 20 * mib && pool.cachedBytes == 20 * mib && pool.live == 0)
        // The same size again comes from the cache: nothing evicted, the high-water unchanged.
        let c = pool.take(10 * mib)
        #expect(pool.cachedBytes == 10 * mib && pool.highWater == 20 * mib)
        // A new size that lifts live to 40 MiB: the room is 40 + 4 (headroom) - 40 = 4 MiB, so
        // the cached 10 MiB buffer goes back to the system instead of adding to the peak.
        let d = pool.take(30 * mib)
        #expect(pool.highWater == 40 * mib && pool.live == 40 * mib)
        #expect(pool.cachedBytes == 0)
        pool.give(c, byteCount: 10 * mib)
        pool.give(d, byteCount: 30 * mib)
        // Below the high-water everything freed is kept for reuse: 40 MiB cached, 0 live.
        #expect(pool.cachedBytes == 40 * mib && pool.live == 0)
        // A fresh 8 MiB buffer fits with room 40 + 4 - 8 = 36 MiB: the pool evicts largest
        // first (the 30 MiB buffer), keeping the 10 MiB one.
        let e = pool.take(8 * mib)
        #expect(pool.cachedBytes == 10 * mib)
        pool.give(e, byteCount: 8 * mib)
        pool.trim()
        #expect(pool.cachedBytes == 0)
    }

    /// Below the floor the same sequence evicts nothing: the cached 10 MiB buffer stays.
    @Test func nothingIsEvictedBelowTheFloor() {
        let pool = BufferPool()
        pool.floor = 64 * Self.mib
        let a = pool.take(10 * Self.mib), b = pool.take(10 * Self.mib)
        pool.give(b, byteCount: 10 * Self.mib)
        let d = pool.take(30 * Self.mib)
        #expect(pool.live == 40 * Self.mib && pool.cachedBytes == 10 * Self.mib)
        pool.give(a, byteCount: 10 * Self.mib)
        pool.give(d, byteCount: 30 * Self.mib)
        pool.trim()
    }

    @Test func headroomIsATenthOfTheHighWaterAtMost32MiB() {
        #expect(BufferPool.headroom(highWater: 100 * Self.mib) == 10 * Self.mib)
        #expect(BufferPool.headroom(highWater: 4096 * Self.mib) == 32 * Self.mib)
    }
}
