import Console
import Foundation
import NeuralNet
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// Where one training step's memory goes in MedCIL (`medcil bench train --memory`), measured in
/// the child process of one net after a warm-up step, from the tensor buffer pool's live-byte
/// counter, the recorded graph and /proc/self/status.
public struct MemoryBreakdown: Codable, Sendable {
    /// One group of tensors the recorded graph holds after the forward pass.
    public struct Retained: Codable, Sendable {
        /// The op that computed them, and the ops whose backward functions keep them.
        public var producer: String
        public var holders: String
        public var tensors: Int
        public var bytes: Int
    }

    public var net: String
    /// Resident memory before the model exists (binary, libraries, OpenBLAS buffers).
    public var baselineBytes: Int
    public var parameterBytes: Int
    public var gradientBytes: Int
    /// SGD's momentum buffers.
    public var optimizerBytes: Int
    public var batchBytes: Int
    /// Tensor bytes live after the forward pass beyond those before it: the activations the
    /// graph keeps for backward.
    public var forwardBytes: Int
    /// Of `forwardBytes`, the tensors backward functions keep, grouped.
    public var retained: [Retained]
    /// The most tensor bytes live during backward beyond the level after the forward pass.
    public var backwardPeakBytes: Int
    /// The most tensor bytes live at once over the step (`BufferPool.peakLive`).
    public var peakLiveBytes: Int
    /// Freed buffers the pool keeps for reuse, after the step.
    public var poolCachedBytes: Int
    /// Peak resident memory of the process (VmHWM) and resident memory after the step.
    public var peakResidentBytes: Int
    public var residentAfterStepBytes: Int
    /// Resident memory after `BufferPool.trim()` and glibc's `malloc_trim(0)`.
    public var residentAfterTrimBytes: Int

    /// Peak resident memory not explained by the baseline and the live tensors: pool cache,
    /// allocator overhead and freed memory glibc has not returned.
    public var unexplainedPeakBytes: Int { peakResidentBytes - baselineBytes - peakLiveBytes }

    /// Measures one warm-up training step, then one step in detail.
    public static func measure(_ net: BenchNet) -> MemoryBreakdown {
        precondition(net.trains, "\(net.rawValue) has no training step")
        let baseline = ProcessMemory.residentBytes()
        NeuralNetRandom.seed(0)
        let model = net.build()
        model.train()
        let parameters = model.parameters()
        let optimizer = SGD(parameters, learningRate: 0.01, momentum: 0.9)
        let (x, targets) = net.syntheticBatch()
        func step() {
            optimizer.zeroGrad()
            crossEntropy(model(x), targets: targets).backward()
            optimizer.step()
        }
        step()
        let pool = BufferPool.shared
        let parameterBytes = parameters.reduce(0) { $0 + $1.value.count * $1.value.dtype.size }
        let gradientBytes = parameters.reduce(0) { $0 + ($1.grad.map { $0.count * $0.dtype.size } ?? 0) }
        optimizer.zeroGrad()
        let beforeForward = pool.live
        pool.resetPeak()
        let loss = crossEntropy(model(x), targets: targets)
        let afterForward = pool.live
        let graph = loss.retainedGraph().filter { !$0.isTrainableLeaf && $0.producer != "leaf" }
        var groups: [String: Retained] = [:]
        var order: [String] = []
        for tensor in graph {
            let holders = Array(Set(tensor.holders)).sorted().joined(separator: ", ")
            let key = tensor.producer + " | " + holders
            if groups[key] == nil { order.append(key); groups[key] = Retained(producer: tensor.producer, holders: holders, tensors: 0, bytes: 0) }
            groups[key]!.tensors += 1
            groups[key]!.bytes += tensor.bytes
        }
        let forwardPeak = pool.peakLive
        pool.resetPeak()
        loss.backward()
        let backwardPeak = pool.peakLive
        optimizer.step()
        let afterStep = ProcessMemory.residentBytes()
        let cached = pool.cachedBytes
        pool.trim()
        ProcessMemory.mallocTrim()
        return MemoryBreakdown(
            net: net.rawValue, baselineBytes: baseline, parameterBytes: parameterBytes, gradientBytes: gradientBytes,
            optimizerBytes: optimizer.state.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count * $1.dtype.size } }, batchBytes: x.count * x.dtype.size,
            forwardBytes: afterForward - beforeForward, retained: order.map { groups[$0]! }.sorted { $0.bytes > $1.bytes },
            backwardPeakBytes: backwardPeak - afterForward, peakLiveBytes: max(forwardPeak, backwardPeak),
            poolCachedBytes: cached, peakResidentBytes: ProcessMemory.peakResidentBytes(), residentAfterStepBytes: afterStep,
            residentAfterTrimBytes: ProcessMemory.residentBytes())
    }
}

/// Resident memory from /proc/self/status.
enum ProcessMemory {
    static func residentBytes() -> Int { field("VmRSS:") }
    static func peakResidentBytes() -> Int { PeakMemory.residentKiB() * 1024 }

    /// glibc's malloc_trim(0): returns freed heap memory to the system (looked up at run time,
    /// since Swift's Glibc module does not export malloc.h).
    static func mallocTrim() {
        typealias Trim = @convention(c) (Int) -> Int32
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kib * 1024
    }
}
