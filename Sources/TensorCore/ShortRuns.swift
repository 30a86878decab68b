/// Copies and zero fills of short runs, inline.
///
/// The rows of small feature maps are 2 to 28 values long. `update(from:)` and
/// `update(repeating:)` call libc's memmove and memset for each, and on rows that short the
/// call and its size dispatch are a large part of the copy (memmove and memset were 14% of
/// small-CNN-28 training, most of it in im2col, which `GatherTable` now does without row
/// copies). These write short runs with one to four vector moves instead (overlapping
/// the last vector with the previous one rather than looping over a tail, which also keeps
/// the compiler from turning the loop back into a libc call). Runs of 64 values or more still
/// go to libc. Source and destination must not overlap.
@inline(__always)
func copyRun<T: TensorScalar>(_ dst: UnsafeMutablePointer<T>, _ src: UnsafePointer<T>, _ n: Int) {
    if n >= 64 {
        dst.update(from: src, count: n)
    } else if n >= 8 {
        var k = 0
        while k &+ 8 < n {
            UnsafeMutableRawPointer(dst + k).storeBytes(of: UnsafeRawPointer(src + k).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
            k &+= 8
        }
        let last = n &- 8
        UnsafeMutableRawPointer(dst + last).storeBytes(of: UnsafeRawPointer(src + last).loadUnaligned(as: SIMD8<T>.self), as: SIMD8<T>.self)
    } else if n >= 4 {
        UnsafeMutableRawPointer(dst).storeBytes(of: UnsafeRawPointer(src).loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
        let last = n &- 4
        UnsafeMutableRawPointer(dst + last).storeBytes(of: UnsafeRawPointer(src + last).loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
    } else if n > 0 {
        dst[0] = src[0]
        if n > 1 { dst[1] = src[1] }
        if n > 2 { dst[2] = src[2] }
    }
}

/// Sets `n` values at `dst` to zero (see `copyRun`).
@inline(__always)
func zeroRun<T: TensorScalar>(_ dst: UnsafeMutablePointer<T>, _ n: Int) {
    if n >= 64 {
        dst.update(repeating: 0, count: n)
    } else if n >= 8 {
        var k = 0
        while k &+ 8 < n {
            UnsafeMutableRawPointer(dst + k).storeBytes(of: SIMD8<T>(), as: SIMD8<T>.self)
            k &+= 8
        }
        UnsafeMutableRawPointer(dst + (n &- 8)).storeBytes(of: SIMD8<T>(), as: SIMD8<T>.self)
    } else if n >= 4 {
        UnsafeMutableRawPointer(dst).storeBytes(of: SIMD4<T>(), as: SIMD4<T>.self)
        UnsafeMutableRawPointer(dst + (n &- 4)).storeBytes(of: SIMD4<T>(), as: SIMD4<T>.self)
    } else if n > 0 {
        dst[0] = 0
        if n > 1 { dst[1] = 0 }
        if n > 2 { dst[2] = 0 }
    }
}
