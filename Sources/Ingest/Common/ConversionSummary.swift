import Console
import Foundation

/// The outcome of a conversion run, for printing and tests.
public struct ConversionSummary<Description: Sendable, Report: Sendable>: Sendable {
    public var datasetDirectory: URL
    public var description: Description
    public var report: Report
    /// The part of the summary that the inputs determine (also written to report.txt).
    public var reportText: String
    public var vocabulary: ConversionVocabulary
    public var seconds: Double
    /// Units the throughput line counts (files seen, volumes).
    public var throughputUnits: Int
    /// Units converted by this run, and units reused from an earlier one.
    public var converted: Int
    public var reused: Int
    /// What this run's conversions produced (frames decoded, slices written).
    public var work: Int
    /// Stale output files removed.
    public var prunedOutputs: Int
    /// Inputs that were meant to convert and did not (failed, skipped, unpaired, unmapped).
    public var notConverted: Int

    /// The report text plus what this run did (reuse, pruning, throughput).
    public var text: String {
        let unit = vocabulary.unit
        var lines = [reportText]
        lines.append("  this run: \(converted) \(unit)\(converted == 1 ? "" : "s") converted, \(reused) reused from an earlier run" +
            (prunedOutputs > 0 ? ", \(prunedOutputs) stale output file\(prunedOutputs == 1 ? "" : "s") removed" : ""))
        lines.append(String(format: "  throughput: %d %@s in %.2f s (%@ %@s/s), %d %@ (%@ %@/s)",
                            throughputUnits, unit, seconds, ProgressReporter.rate(Double(throughputUnits) / max(seconds, 1e-9)), unit,
                            work, vocabulary.work, ProgressReporter.rate(Double(work) / max(seconds, 1e-9)), vocabulary.workCounter))
        lines.append("  peak memory: \(PeakMemory.text) resident")
        lines.append("  outputs: \(datasetDirectory.path)")
        return lines.joined(separator: "\n")
    }
}
