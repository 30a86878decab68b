import Console

/// The text of `medcil bench train --memory` for one net.
enum MemoryReport {
    static func megabytes(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1_048_576) }
    static func megabytes(_ mb: Double) -> String { String(format: "%.0f", mb) }

    static func render(_ m: MemoryBreakdown, peer p: PeerResults.Memory?) -> String {
        let savedTotal = p.map { $0.saved.values.reduce(0, +) }
        let retainedTotal = m.retained.reduce(0) { $0 + $1.bytes }
        var table = TextTable(header: ["\(m.net): one training step", "MedCIL MB", "PyTorch MB"], rightAligned: [1, 2])
        table.add(["process before the model (PyTorch: after import torch)", megabytes(m.baselineBytes), p.map { megabytes($0.import_baseline_mb) } ?? "n/a"])
        table.add(["parameters", megabytes(m.parameterBytes), p.map { megabytes($0.parameter_bytes) } ?? "n/a"])
        table.add(["gradients", megabytes(m.gradientBytes), p.map { megabytes($0.gradient_bytes) } ?? "n/a"])
        table.add(["optimizer state (momentum)", megabytes(m.optimizerBytes), p.map { megabytes($0.optimizer_bytes) } ?? "n/a"])
        table.add(["input batch", megabytes(m.batchBytes), p.map { megabytes($0.batch_bytes) } ?? "n/a"])
        table.add(["kept by the forward pass for backward", megabytes(m.forwardBytes), savedTotal.map { megabytes($0) } ?? "n/a"])
        table.add(["  of which tensors backward functions keep (below)", megabytes(retainedTotal), ""])
        table.add(["  of which other buffers (masks, statistics, indices)", megabytes(m.forwardBytes - retainedTotal), ""])
        table.add(["backward: most live above the forward level", megabytes(m.backwardPeakBytes), ""])
        table.add(["most tensor bytes live at once", megabytes(m.peakLiveBytes), ""])
        table.add(["freed buffers the pool keeps, after the step", megabytes(m.poolCachedBytes), ""])
        table.add(["peak resident (VmHWM)", megabytes(m.peakResidentBytes), p.map { megabytes($0.peak_rss_mb) } ?? "n/a"])
        table.add(["  peak resident - before the model - most live", megabytes(m.unexplainedPeakBytes), ""])
        table.add(["resident after the step / after pool trim + malloc_trim", "\(megabytes(m.residentAfterStepBytes)) / \(megabytes(m.residentAfterTrimBytes))", ""])
        var text = table.render() + "\n"

        var graph = TextTable(header: ["MedCIL graph tensors: computed by", "kept by", "tensors", "MB"], rightAligned: [2, 3])
        for group in m.retained { graph.add([group.producer, group.holders, String(group.tensors), megabytes(group.bytes)]) }
        text += graph.render() + "\n"
        if let p {
            var saved = TextTable(header: ["PyTorch saved tensors: saved by", "MB"], rightAligned: [1])
            for (op, bytes) in p.saved.sorted(by: { $0.value > $1.value }) { saved.add([op, megabytes(bytes)]) }
            text += saved.render() + "\n"
        }
        return text
    }
}
