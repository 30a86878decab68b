import ArrayFiles
import DataLoading
import Foundation
import Metrics

/// A self-contained HTML report of a run (inline CSS, SVG charts, PNG frames as data URIs):
/// the comparison table, each method's task-by-task accuracy matrix and confusion matrix, the
/// weight each expert receives on each site's cases, per-class precision/recall/F1, every
/// stage's training time, and a montage of test frames per class. Built from the evaluation
/// and the prediction files, so it never disagrees with metrics.json.
public enum HTMLReport {
    public static func write(_ evaluation: RunEvaluation, run folder: URL, to url: URL) throws {
        let ledger = try RunLedger.load(from: folder)
        var html = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>MedCIL run report</title><style>
        body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
        h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}
        table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}
        th{background:#f4f4f4}td.l,th.l{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:18px}.note{color:#555;font-size:13px}
        img.frame{width:64px;height:64px;image-rendering:pixelated;margin:1px}
        </style></head><body>
        <h1>MedCIL multi-site class-incremental run</h1>
        <p class="note">Sites in arrival order: \(ledger.sites.map { "\(escape($0.name)) (\($0.classes.count) classes)" }.joined(separator: " &rarr; ")).
        Every number below is computed from the saved predictions (\(ledger.predictions.count) files) and run.json.</p>
        """
        html += "<table><tr><th class=l>setting</th><th class=l>value</th></tr>"
        for key in evaluation.settings.keys.sorted() { html += "<tr><td class=l>\(escape(key))</td><td class=l>\(escape(evaluation.settings[key]!))</td></tr>" }
        html += "</table>"

        html += "<h2>Comparison after the last site</h2><table><tr><th class=l>method</th><th>accuracy %</th><th>macro-F1</th>"
        html += "<th>avg. incremental accuracy %</th><th>forgetting %</th><th>BWT %</th><th>time to add the last site (s)</th></tr>"
        for r in evaluation.methods {
            func percent(_ x: Double?) -> String { x.map { String(format: "%.1f", 100 * $0) } ?? "&ndash;" }
            html += "<tr><td class=l>\(escape(r.method))</td><td>\(percent(r.final.accuracy))</td><td>\(String(format: "%.3f", r.final.macroF1))</td>"
            html += "<td>\(percent(r.matrix.averageIncrementalAccuracy))</td><td>\(percent(r.matrix.forgetting))</td><td>\(percent(r.matrix.backwardTransfer))</td>"
            html += "<td>\(String(format: "%.1f", r.secondsForLastSite))</td></tr>"
        }
        html += "</table><p class=note>Average incremental accuracy: mean over steps (the first included) of the accuracy on all sites seen so far, pooled over samples. Forgetting and BWT over the sites before the last (Chaudhry et al.; Lopez-Paz &amp; Ranzato).</p>"

        html += "<h2>Accuracy matrices</h2><p class=note>Row t: after adding the site of step t; column j: accuracy on site j's test set.</p><div class=grid>"
        for r in evaluation.methods {
            let labels = evaluation.sites
            let rows = r.matrix.values.enumerated().map { "step \($0.offset)" }
            html += "<div><h3>\(escape(r.method))</h3>" + heatmap(r.matrix.values, rowLabels: rows, columnLabels: labels, percent: true) + "</div>"
        }
        html += "</div>"

        let weighted = evaluation.methods.filter { $0.meanExpertWeights != nil && $0.learntExpertWeights == true }
        if !weighted.isEmpty {
            html += "<h2>Expert weights per site</h2><p class=note>Mean weight each expert receives on each site's test cases after the last step; the method expects an expert to weigh most on its own site. Histograms: the distribution of the per-case weight of the site's own expert.</p><div class=grid>"
            for r in weighted {
                let experts = r.experts ?? []
                let values = evaluation.sites.map { site in experts.map { r.meanExpertWeights?[site]?[$0] } }
                html += "<div><h3>\(escape(r.method))</h3>" + heatmap(values, rowLabels: evaluation.sites, columnLabels: experts, percent: false)
                if let file = ledger.predictions.filter({ $0.method == r.method }).max(by: { $0.step < $1.step }) {
                    let (rows, names) = try PredictionRow.read(from: folder.appendingPathComponent(file.file))
                    for (k, site) in evaluation.sites.enumerated() where k < names.count {
                        let own = rows.filter { $0.site == site }.map { Double($0.weights[k]) }
                        html += "<div class=note>\(escape(site)) cases, weight of \(escape(names[k]))</div>" + histogram(own)
                    }
                }
                html += "</div>"
            }
            html += "</div>"
        }

        html += "<h2>Confusion matrices after the last site</h2><p class=note>Rows: true class; columns: predicted; all sites' test cases pooled.</p><div class=grid>"
        for r in evaluation.methods {
            let values = r.final.confusion.map { $0.map { Optional(Double($0)) } }
            html += "<div><h3>\(escape(r.method)) (accuracy \(String(format: "%.1f", 100 * r.final.accuracy))%)</h3>"
                + heatmap(values, rowLabels: r.final.classes, columnLabels: r.final.classes, percent: false, integers: true) + "</div>"
        }
        html += "</div>"

        html += "<h2>Per-class precision, recall and F1 after the last site</h2><div class=grid>"
        for r in evaluation.methods {
            html += "<div><h3>\(escape(r.method))</h3><table><tr><th class=l>class</th><th>P</th><th>R</th><th>F1</th><th>n</th></tr>"
            for name in r.final.classes {
                let c = r.final.perClass[name]!
                html += "<tr><td class=l>\(escape(name))</td><td>\(String(format: "%.2f", c.precision))</td><td>\(String(format: "%.2f", c.recall))</td><td>\(String(format: "%.2f", c.f1))</td><td>\(c.support)</td></tr>"
            }
            html += "</table></div>"
        }
        html += "</div>"

        html += "<h2>Training time of every stage</h2><table><tr><th class=l>method</th><th>step</th><th class=l>stage</th><th>seconds</th></tr>"
        for s in ledger.stages { html += "<tr><td class=l>\(escape(s.method))</td><td>\(s.step)</td><td class=l>\(escape(s.stage))</td><td>\(String(format: "%.1f", s.seconds))</td></tr>" }
        html += "</table>"

        html += "<h2>Test frames per class</h2><p class=note>Up to four test frames of each class from each site, as the classifiers see them (before normalisation).</p>"
        for site in ledger.sites {
            let url = URL(fileURLWithPath: site.dataset, relativeTo: folder)
            guard let test = try? ShardDataset(folder: url, split: "test") else { continue }
            html += "<h3>\(escape(site.name))</h3><table>"
            let names = Dictionary(uniqueKeysWithValues: test.description.classes.map { ($1, $0) })
            let shape = test.sampleShape
            for index in test.description.siteClassIndices {
                let members = (0..<test.count).filter { test.label(at: $0) == index }.prefix(4)
                html += "<tr><td class=l>\(escape(names[index] ?? "\(index)"))</td><td class=l>"
                for m in members {
                    guard let pixels = try? test.pixels(at: m) else { continue }
                    let frame = pixels.prefix(shape[1] * shape[2]).map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
                    let png = PNGEncoder.grey(Array(frame), width: shape[2], height: shape[1])
                    html += "<img class=frame src=\"data:image/png;base64,\(png.base64EncodedString())\">"
                }
                html += "</td></tr>"
            }
            html += "</table>"
        }
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: url)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// An SVG heat map with the value in each cell.
    static func heatmap(_ values: [[Double?]], rowLabels: [String], columnLabels: [String], percent: Bool, integers: Bool = false) -> String {
        let cell = 38, left = 110, top = 80
        let width = left + cell * max(columnLabels.count, 1) + 10, height = top + cell * max(rowLabels.count, 1) + 10
        let maximum = values.flatMap { $0.compactMap { $0 } }.max() ?? 1
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-size=\"10\" font-family=\"sans-serif\">"
        for (j, label) in columnLabels.enumerated() {
            let x = left + j * cell + cell / 2
            svg += "<text x=\"\(x)\" y=\"\(top - 6)\" transform=\"rotate(-45 \(x) \(top - 6))\">\(escape(label))</text>"
        }
        for (i, label) in rowLabels.enumerated() {
            svg += "<text x=\"\(left - 4)\" y=\"\(top + i * cell + cell / 2 + 3)\" text-anchor=\"end\">\(escape(label))</text>"
            for j in 0..<columnLabels.count {
                let x = left + j * cell, y = top + i * cell
                guard i < values.count, j < values[i].count, let v = values[i][j] else {
                    svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"#f7f7f7\" stroke=\"#fff\"/>"
                    continue
                }
                let t = maximum > 0 ? v / maximum : 0
                let shade = Int(255 - 170 * t)
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#fff\"/>"
                let text = integers ? String(Int(v)) : (percent ? String(format: "%.0f", 100 * v) : String(format: "%.2f", v))
                svg += "<text x=\"\(x + cell / 2)\" y=\"\(y + cell / 2 + 3)\" text-anchor=\"middle\" fill=\"\(t > 0.6 ? "#fff" : "#000")\">\(text)</text>"
            }
        }
        return svg + "</svg>"
    }

    /// A 10-bin SVG histogram of values in 0...1.
    static func histogram(_ values: [Double]) -> String {
        var bins = [Int](repeating: 0, count: 10)
        for v in values { bins[min(9, max(0, Int(v * 10)))] += 1 }
        let peak = max(bins.max() ?? 1, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"220\" height=\"60\" font-size=\"9\" font-family=\"sans-serif\">"
        for (k, n) in bins.enumerated() {
            let h = 40 * n / peak
            svg += "<rect x=\"\(10 + k * 20)\" y=\"\(45 - h)\" width=\"18\" height=\"\(h)\" fill=\"#6a7fdb\"/>"
        }
        svg += "<text x=\"10\" y=\"57\">0</text><text x=\"200\" y=\"57\">1</text></svg>"
        return svg
    }
}
