import ArrayFiles
import Foundation

/// The HTML report of a sequence run: the comparison table, the metric definitions, each
/// method's accuracy matrix and per-class accuracy, timings, and for the data-free methods
/// the impressions of each class beside its stored mean image (PNG data URIs from the task
/// folders, so the report is one self-contained file).
public enum SequenceReport {
    public static func write(_ results: SequenceResults, run folder: URL, to url: URL) throws {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        func percent(_ x: Double?) -> String { x.map { String(format: "%.1f", 100 * $0) } ?? "&ndash;" }
        func image(_ file: URL) -> String? {
            guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
            return "<img style=\"image-rendering:pixelated;height:96px;margin:2px\" src=\"data:image/png;base64,\(data.base64EncodedString())\">"
        }
        var html = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>MedCIL class-incremental sequence</title><style>
        body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
        table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}
        th{background:#f4f4f4}td.l,th.l{text-align:left}pre{font-size:12px;background:#f8f8f8;padding:8px}
        </style></head><body><h1>Class-incremental sequence</h1>
        <p>Tasks: \(results.taskSizes.map(String.init).joined(separator: "-")) classes; class order: \(escape(results.classNames.joined(separator: ", "))).</p>
        <table><tr><th class=l>method</th><th>final accuracy %</th><th>avg. incremental accuracy %</th><th>forgetting %</th><th>BWT %</th>
        <th>synthesis s</th><th>update s</th></tr>
        """
        for m in results.methods {
            html += "<tr><td class=l>\(escape(m.method))</td><td>\(percent(m.finalAccuracy))</td><td>\(percent(m.averageIncrementalAccuracy))</td>"
            html += "<td>\(percent(m.forgetting))</td><td>\(percent(m.backwardTransfer))</td>"
            html += String(format: "<td>%.0f</td><td>%.0f</td></tr>", m.records.map(\.synthesisSeconds).reduce(0, +), m.records.map(\.updateSeconds).reduce(0, +))
        }
        html += "</table><h2>Definitions</h2><pre>\(escape(SequenceResults.definitions))</pre><h2>Accuracy matrices and per-class accuracy</h2><pre>\(escape(results.details))</pre>"
        for m in results.methods {
            for record in m.records where record.syntheticImages > 0 {
                let impressions = TaskCheckpoint.folder(folder, method: m.method, task: record.task).appendingPathComponent("impressions")
                html += "<h3>\(escape(m.method)), task \(record.task + 1): impressions of the old classes (left: stored class mean)</h3><table>"
                for c in 0..<results.classNames.count {
                    guard let grid = image(impressions.appendingPathComponent("class-\(c).png")) else { continue }
                    html += "<tr><td class=l>\(escape(results.classNames[c]))</td><td class=l>\(image(impressions.appendingPathComponent("mean-\(c).png")) ?? "")</td><td class=l>\(grid)</td></tr>"
                }
                html += "</table>"
            }
        }
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: url)
    }
}
