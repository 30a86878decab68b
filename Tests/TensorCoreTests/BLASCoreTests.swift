import Foundation
import Testing
@testable import TensorCore

/// The OpenBLAS kernel re-selection (`BLASCore`): the choice rule on stated flag sets, and on
/// this machine that the kernels in use are at least as capable as the CPU's flags allow.
@Suite struct BLASCoreTests {
    // Flag sets as /proc/cpuinfo spells them: Sapphire Rapids (AVX-512 with BF16), Skylake-SP
    // (AVX-512 without BF16), a Haswell-class CPU (AVX2 + FMA) and an SSE-only one.
    static let sapphireRapids: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_bf16"]
    static let skylakeSP: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
    static let haswell: Set<String> = ["sse3", "avx", "avx2", "fma"]
    static let sseOnly: Set<String> = ["sse3", "ssse3"]

    @Test func genericFallbackIsReplacedByTheBestSupportedKernels() {
        #expect(BLASCore.better(than: "Prescott", flags: Self.sapphireRapids) == "Cooperlake")
        #expect(BLASCore.better(than: "Prescott", flags: Self.skylakeSP) == "SkylakeX")
        #expect(BLASCore.better(than: "Nehalem", flags: Self.haswell) == "Haswell")
        #expect(BLASCore.better(than: "Haswell", flags: Self.sapphireRapids) == "Cooperlake")
    }

    @Test func anEqualOrUnknownChoiceIsKept() {
        #expect(BLASCore.better(than: "Cooperlake", flags: Self.sapphireRapids) == nil)
        #expect(BLASCore.better(than: "Zen", flags: Self.haswell) == nil)
        #expect(BLASCore.better(than: "SapphireRapids", flags: Self.sapphireRapids) == nil)
        #expect(BLASCore.better(than: "SomeFutureCore", flags: Self.sapphireRapids) == nil)
        #expect(BLASCore.better(than: "Prescott", flags: Self.sseOnly) == nil)
    }

    /// On the machine running the tests: after the first GEMM the kernels in use rank at least
    /// as high as the best set the CPU's flags support (fails if the switch did not take).
    @Test func kernelsInUseMatchTheCPU() {
        var c: Float = 0
        var a: Float = 2, b: Float = 3
        GEMM.run(m: 1, n: 1, k: 1, a: &a, lda: 1, b: &b, ldb: 1, c: &c, ldc: 1)
        #expect(c == 6)
        let flags = BLASCore.cpuFlags()
        let supported = BLASCore.candidates.first { $0.flags.allSatisfy(flags.contains) }?.core
        let inUse = BLASCore.currentCore()
        #expect(inUse == BLASCore.selection.core)
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let supported {
            #expect(BLASCore.rank(inUse) >= BLASCore.rank(supported), "OpenBLAS runs \(inUse) on a CPU that supports \(supported)")
        }
    }
}
