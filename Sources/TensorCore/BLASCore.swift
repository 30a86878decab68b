import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which OpenBLAS kernels run the GEMMs, and the correction MedCIL applies when OpenBLAS
/// picked kernels far below what the CPU can do.
///
/// Why: OpenBLAS builds with `DYNAMIC_ARCH` (Debian's, among others) choose their kernels by
/// CPU model. A model newer than the library falls back to generic SSE3 kernels: Debian's
/// OpenBLAS 0.3.21 calls a Sapphire Rapids Xeon (AVX-512, AVX-512 BF16) "Prescott" and runs
/// sgemm at about 39 GFLOP/s on two cores, against about 213 GFLOP/s with its Cooperlake
/// kernels on the same machine. The dynamic loader's table of kernels is exported
/// (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, which reads `OPENBLAS_CORETYPE`), so
/// MedCIL re-selects the best kernel set the CPU's flags support, once, before its first GEMM.
///
/// Nothing happens when the user set `OPENBLAS_CORETYPE` (their choice wins), when the
/// library is not a `DYNAMIC_ARCH` build (the symbols are absent), or when OpenBLAS's own
/// choice is at least as capable. Results stay deterministic: one process uses one kernel set.
public enum BLASCore {
    /// The kernel set in use and, when MedCIL changed it, the one OpenBLAS had chosen.
    public struct Selection: Sendable, Equatable {
        public let core: String
        public let detectedByOpenBLAS: String
        public var changed: Bool { core != detectedByOpenBLAS }
        /// One line for logs and benchmark headers.
        public var summary: String {
            changed ? "OpenBLAS kernels: \(core) (OpenBLAS chose \(detectedByOpenBLAS) for this CPU; MedCIL selected \(core) from the CPU's flags)"
                    : "OpenBLAS kernels: \(core)"
        }
    }

    /// Applied once per process, before the first GEMM (`GEMM` touches it).
    public static let selection: Selection = select()

    /// Kernel sets this code may switch to, most capable first, with the CPU flags each needs
    /// (as `/proc/cpuinfo` names them).
    static let candidates: [(core: String, flags: [String])] = [
        ("Cooperlake", ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_bf16"]),
        ("SkylakeX", ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]),
        ("Haswell", ["avx2", "fma"]),
    ]

    /// How capable a kernel set is; names OpenBLAS reports in any case. Unknown names rank
    /// highest, so that an unfamiliar (newer) choice is never replaced.
    static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "cooperlake", "sapphirerapids": return 4
        case "skylakex": return 3
        case "haswell", "zen": return 2
        case "sandybridge", "bulldozer", "piledriver", "steamroller", "excavator": return 1
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "nano", "barcelona", "bobcat",
             "opteron", "opteron_sse3", "katmai", "coppermine", "northwood", "banias", "athlon": return 0
        default: return 5
        }
    }

    /// The best candidate whose flags are all in `flags`, if it ranks above `detected`.
    static func better(than detected: String, flags: Set<String>) -> String? {
        guard let best = candidates.first(where: { $0.flags.allSatisfy(flags.contains) }) else { return nil }
        return rank(best.core) > rank(detected) ? best.core : nil
    }

    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    static func currentCore() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    private static func select() -> Selection {
        let detected = currentCore()
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let target = better(than: detected, flags: cpuFlags()),
              let quit = symbol("gotoblas_dynamic_quit"), let initialise = symbol("gotoblas_dynamic_init")
        else { return Selection(core: detected, detectedByOpenBLAS: detected) }
        // `gotoblas_dynamic_init` reads the variable; it is removed again so that child
        // processes (the Python peers of the benchmarks) keep their own libraries' choice.
        setenv("OPENBLAS_CORETYPE", target, 1)
        quit()
        initialise()
        unsetenv("OPENBLAS_CORETYPE")
        return Selection(core: currentCore(), detectedByOpenBLAS: detected)
    }

    private typealias VoidFunction = @convention(c) () -> Void

    private static func symbol(_ name: String) -> VoidFunction? {
        #if canImport(Glibc)
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: VoidFunction.self)
        #else
        return nil
        #endif
    }
}
