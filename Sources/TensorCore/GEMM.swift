import CBLAS
import Dispatch
import Foundation

/// Matrix products on OpenBLAS. OpenBLAS itself runs single-threaded: kernels split their
/// work across `Parallel.threads` themselves (one GEMM per image or per column block), which
/// suits convolution shapes better than one threaded GEMM and keeps results deterministic.
///
/// With `GEMM.profiling` on, time spent inside GEMM and the FLOPs it did are accumulated
/// (thread-seconds; the training benchmark reports them).
public enum GEMM {
    private static let setUp: Void = {
        _ = BLASCore.selection
        openblas_set_num_threads(1)
    }()

    nonisolated(unsafe) public static var profiling = false
    nonisolated(unsafe) private static var seconds: Double = 0
    nonisolated(unsafe) private static var flops: Double = 0
    private static let lock = NSLock()

    /// Thread-seconds inside GEMM and floating point operations since the last reset.
    public static var profile: (seconds: Double, flops: Double) {
        lock.lock(); defer { lock.unlock() }
        return (seconds, flops)
    }

    public static func resetProfile() {
        lock.lock(); seconds = 0; flops = 0; lock.unlock()
    }

    /// C[m, n] = alpha * op(A) * op(B) + beta * C, row-major, single-threaded.
    @inline(__always)
    public static func run<T: TensorScalar>(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: T = 1,
                                            a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                            beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int) {
        _ = setUp
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        if profiling {
            let start = DispatchTime.now().uptimeNanoseconds
            T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.lock(); seconds += elapsed; flops += 2 * Double(m) * Double(n) * Double(k); lock.unlock()
        } else {
            T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The same product spread over the threads by blocks of C's rows (or columns when C is
    /// short and wide). For products that stand alone (linear layers, matmul).
    public static func parallel<T: TensorScalar>(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: T = 1,
                                                 a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                                                 beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int) {
        let work = Double(m) * Double(n) * Double(k)
        guard Parallel.threads > 1, work > 2e6 else {
            run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= n {
            Parallel.forEachChunk(m, grain: 16) { _, rows in
                let aBlock = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
                run(transA: transA, transB: transB, m: rows.count, n: n, k: k, alpha: alpha, a: aBlock, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c + rows.lowerBound * ldc, ldc: ldc)
            }
        } else {
            Parallel.forEachChunk(n, grain: 16) { _, columns in
                let bBlock = transB ? b + columns.lowerBound * ldb : b + columns.lowerBound
                run(transA: transA, transB: transB, m: m, n: columns.count, k: k, alpha: alpha, a: a, lda: lda,
                    b: bBlock, ldb: ldb, beta: beta, c: c + columns.lowerBound, ldc: ldc)
            }
        }
    }
}
