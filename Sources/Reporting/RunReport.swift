import Foundation
import Metrics

/// The evaluation of a run folder, as `medcil evaluate --run` and the end of every experiment
/// write it: metrics.json and report.html, computed from run.json and the prediction files only.
public enum RunReport {
    @discardableResult
    public static func write(run folder: URL, to target: URL) throws -> RunEvaluation {
        let evaluation = try RunEvaluation.compute(run: folder)
        try evaluation.save(to: target)
        try HTMLReport.write(evaluation, run: folder, to: target.appendingPathComponent("report.html"))
        return evaluation
    }
}
