import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident memory, for summaries that help size cluster jobs.
public enum PeakMemory {
    /// Peak resident set size of this process image in KiB.
    ///
    /// On Linux this is `VmHWM` from /proc/self/status: the high-water mark of the current
    /// address space only. `getrusage`'s `ru_maxrss` is not used there because a process
    /// started with vfork/posix_spawn inherits its parent's peak at exec (the kernel folds the
    /// old address space's high-water mark into the new process's maxrss), so a small
    /// conversion launched from a large parent would report the parent's peak.
    public static func residentKiB() -> Int {
        #if os(Linux)
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") {
            return kib
        }
        #endif
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss) / 1024
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// "123 MiB", the line summaries print.
    public static var text: String { "\(residentKiB() / 1024) MiB" }
}
