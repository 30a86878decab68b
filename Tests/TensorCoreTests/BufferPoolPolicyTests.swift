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
        let a = pool.take(10 * mib).pointer, b = pool.take(10 * mib).pointer
        pool.give(a, capacity: 10 * mib)
        pool.give(b, capacity: 10 * mib)
        #expect(pool.highWater == 20 * mib && pool.cachedBytes == 20 * mib && pool.live == 0)
        // The same size again comes from the cache: nothing evicted, the high-water unchanged.
        let c = pool.take(10 * mib).pointer
        #expect(pool.cachedBytes == 10 * mib && pool.highWater == 20 * mib)
        // A new size that lifts live to 40 MiB: the room is 40 + 4 (headroom) - 40 = 4 MiB, so
        // the cached 10 MiB buffer goes back to the system instead of adding to the peak.
        let d = pool.take(30 * mib).pointer
        #expect(pool.highWater == 40 * mib && pool.live == 40 * mib)
        #expect(pool.cachedBytes == 0)
        pool.give(c, capacity: 10 * mib)
        pool.give(d, capacity: 30 * mib)
        // Below the high-water everything freed is kept for reuse: 40 MiB cached, 0 live.
        #expect(pool.cachedBytes == 40 * mib && pool.live == 0)
        // A fresh 8 MiB buffer fits with room 40 + 4 - 8 = 36 MiB: the pool evicts largest
        // first (the 30 MiB buffer), keeping the 10 MiB one.
        let e = pool.take(8 * mib).pointer
        #expect(pool.cachedBytes == 10 * mib)
        pool.give(e, capacity: 8 * mib)
        pool.trim()
        #expect(pool.cachedBytes == 0)
    }

    /// Below the floor the same sequence evicts nothing: the cached 10 MiB buffer stays.
    @Test func nothingIsEvictedBelowTheFloor() {
        let pool = BufferPool()
        pool.floor = 64 * Self.mib
        let a = pool.take(10 * Self.mib).pointer, b = pool.take(10 * Self.mib).pointer
        pool.give(b, capacity: 10 * Self.mib)
        let d = pool.take(30 * Self.mib).pointer
        #expect(pool.live == 40 * Self.mib && pool.cachedBytes == 10 * Self.mib)
        pool.give(a, capacity: 10 * Self.mib)
        pool.give(d, capacity: 30 * Self.mib)
        pool.trim()
    }

    /// Kernel scratch (`transient`) may take a free buffer up to twice its size when live bytes
    /// stay within the high-water; other requests take exact sizes only, and the larger buffer
    /// goes back to the pool under its own size.
    @Test func scratchReusesASomewhatLargerFreeBufferBelowTheHighWater() {
        let pool = BufferPool()
        let mib = Self.mib
        let a = pool.take(10 * mib), b = pool.take(30 * mib)
        pool.give(a.pointer, capacity: a.capacity)
        pool.give(b.pointer, capacity: b.capacity)
        #expect(pool.highWater == 40 * mib && pool.cachedBytes == 40 * mib)
        // A tensor of 8 MiB: no free buffer of that size, so a new one (live 8, cached 40).
        let tensor = pool.take(8 * mib)
        #expect(tensor.capacity == 8 * mib && pool.cachedBytes == 40 * mib)
        // Scratch of 6 MiB: the 10 MiB buffer is below 2 x 6 and live 8 + 10 <= 40: reused.
        let scratch = pool.take(6 * mib, transient: true)
        #expect(scratch.pointer == a.pointer && scratch.capacity == 10 * mib)
        #expect(pool.cachedBytes == 30 * mib && pool.live == 18 * mib)
        pool.give(scratch.pointer, capacity: scratch.capacity)
        // Scratch of 4 MiB: 10 MiB is not below 2 x 4, and 30 MiB neither: a new buffer.
        let small = pool.take(4 * mib, transient: true)
        #expect(small.capacity == 4 * mib && pool.cachedBytes == 40 * mib)
        pool.give(small.pointer, capacity: small.capacity)
        // Scratch of 20 MiB while a 25 MiB tensor is live too (live 33, high-water 40): the free
        // 30 MiB buffer is below 2 x 20, but 33 + 30 would pass the high-water: a new buffer.
        let other = pool.take(25 * mib)
        let wide = pool.take(20 * mib, transient: true)
        #expect(wide.capacity == 20 * mib && pool.cachedBytes == 44 * mib)
        for block in [tensor, other, wide] { pool.give(block.pointer, capacity: block.capacity) }
        pool.trim()
    }

    /// Scratch from 1 MiB up takes the next power of two; smaller requests their own size.
    @Test func scratchRoundsUpToAPowerOfTwoFrom1MiB() {
        let mib = Self.mib
        #expect(BufferPool.scratchBytes(100 << 10) == 100 << 10)
        #expect(BufferPool.scratchBytes(mib - 4) == mib - 4)
        #expect(BufferPool.scratchBytes(mib) == mib)
        #expect(BufferPool.scratchBytes(mib + 1) == 2 * mib)
        #expect(BufferPool.scratchBytes(9 * mib + 12 << 10) == 16 * mib)
        #expect(BufferPool.scratchBytes(16 * mib) == 16 * mib)
        #expect(BufferPool.scratchBytes(18 * mib) == 32 * mib)
    }

    @Test func headroomIsATenthOfTheHighWaterAtMost32MiB() {
        #expect(BufferPool.headroom(highWater: 100 * Self.mib) == 10 * Self.mib)
        #expect(BufferPool.headroom(highWater: 4096 * Self.mib) == 32 * Self.mib)
    }
}
