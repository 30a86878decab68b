import ArrayFiles
import Foundation

/// A quantity measured once per sample order: its values, their mean and their sample
/// standard deviation,
///
///     mean = (1/n) Σ x_i,    sd = sqrt( Σ (x_i - mean)² / (n - 1) )   (0 for n = 1),
///
/// as numpy's `std(ddof=1)` computes it.
public struct Spread: Codable, Sendable, Equatable {
    public var values: [Double]
    public var mean: Double
    public var sd: Double

    public init(_ values: [Double]) {
        self.values = values
        let n = Double(values.count)
        mean = values.isEmpty ? .nan : values.reduce(0, +) / n
        let m = mean
        sd = values.count < 2 ? 0 : (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)).squareRoot()
    }

    /// "mean ± sd" with `scale` applied (100 for percentages).
    public func text(_ format: String, scale: Double = 1) -> String {
        String(format: format, scale * mean) + " ± " + String(format: format, scale * sd)
    }
}

/// The same experiment run over several sample orders (the order training samples are drawn
/// in), each method's final accuracy and macro-F1 as mean ± sd over the orders with every
/// order's value, and for methods that learn expert weights on how many sites the own expert
/// weighs most.
public struct OrderSummary: Codable, Sendable {
    public struct Method: Codable, Sendable {
        public var method: String
        public var accuracy: Spread
        public var macroF1: Spread
        public var averageIncrementalAccuracy: Spread
        public var forgetting: Spread?
    }

    public struct OwnExpert: Codable, Sendable {
        public var method: String
        /// Per order: the number of sites whose own expert weighs most.
        public var sites: Spread
        /// Per order: those sites.
        public var perOrder: [[String]]
    }

    public var orders: Int
    public var sites: [String]
    public var methods: [Method]
    public var ownExpertWeighsMost: [OwnExpert]

    /// `evaluations[k]`: the run of order k + 1 (same sites and methods in every run).
    public init(_ evaluations: [RunEvaluation]) {
        orders = evaluations.count
        sites = evaluations.first?.sites ?? []
        let names = evaluations.first?.methods.map(\.method) ?? []
        func results(_ name: String) -> [RunEvaluation.MethodResult] {
            evaluations.compactMap { $0.methods.first { $0.method == name } }
        }
        methods = names.map { name in
            let r = results(name)
            let forgetting = r.compactMap(\.matrix.forgetting)
            return Method(method: name, accuracy: Spread(r.map(\.final.accuracy)), macroF1: Spread(r.map(\.final.macroF1)),
                          averageIncrementalAccuracy: Spread(r.map(\.matrix.averageIncrementalAccuracy)),
                          forgetting: forgetting.count == r.count ? Spread(forgetting) : nil)
        }
        ownExpertWeighsMost = names.compactMap { name in
            let perOrder = evaluations.compactMap { $0.sitesWhereOwnExpertWeighsMost(method: name) }
            guard perOrder.count == evaluations.count, !perOrder.isEmpty,
                  evaluations.allSatisfy({ $0.methods.first { $0.method == name }?.learntExpertWeights == true }) else { return nil }
            return OwnExpert(method: name, sites: Spread(perOrder.map { Double($0.count) }), perOrder: perOrder)
        }
    }

    /// Markdown: one row per method (mean ± sd, then each order), then the own-expert counts.
    public var markdown: String {
        let orderColumns = (1...max(orders, 1)).map { "order \($0)" }
        var lines = ["| method | accuracy % (mean ± sd) | macro-F1 (mean ± sd) | avg incremental acc % | forgetting % | "
            + orderColumns.map { "\($0) acc % / F1" }.joined(separator: " | ") + " |"]
        lines.append("|" + Array(repeating: "---|", count: 5 + orderColumns.count).joined())
        for m in methods {
            let perOrder = zip(m.accuracy.values, m.macroF1.values).map { String(format: "%.1f / %.3f", 100 * $0, $1) }
            lines.append("| \(m.method) | \(m.accuracy.text("%.1f", scale: 100)) | \(m.macroF1.text("%.3f")) | "
                + "\(m.averageIncrementalAccuracy.text("%.1f", scale: 100)) | \(m.forgetting?.text("%.1f", scale: 100) ?? "-") | "
                + perOrder.joined(separator: " | ") + " |")
        }
        if !ownExpertWeighsMost.isEmpty {
            lines.append("")
            lines.append("| method | sites whose own expert weighs most (of \(sites.count), mean ± sd) | "
                + orderColumns.joined(separator: " | ") + " |")
            lines.append("|" + Array(repeating: "---|", count: 2 + orderColumns.count).joined())
            for own in ownExpertWeighsMost {
                let perOrder = own.perOrder.map { "\($0.count)" + ($0.isEmpty ? "" : " (\($0.joined(separator: ", ")))") }
                lines.append("| \(own.method) | \(own.sites.text("%.1f")) | " + perOrder.joined(separator: " | ") + " |")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// CSV: one row per method and order, then one per method with the mean and sd.
    public var csv: String {
        var lines = ["method,order,accuracy,macro_f1,avg_incremental_accuracy,forgetting"]
        func number(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
        for m in methods {
            for k in m.accuracy.values.indices {
                lines.append([m.method, String(k + 1), number(m.accuracy.values[k]), number(m.macroF1.values[k]),
                              number(m.averageIncrementalAccuracy.values[k]),
                              number(m.forgetting?.values[k])].joined(separator: ","))
            }
            lines.append([m.method, "mean", number(m.accuracy.mean), number(m.macroF1.mean), number(m.averageIncrementalAccuracy.mean),
                          number(m.forgetting?.mean)].joined(separator: ","))
            lines.append([m.method, "sd", number(m.accuracy.sd), number(m.macroF1.sd), number(m.averageIncrementalAccuracy.sd),
                          number(m.forgetting?.sd)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `<name>.md`, `<name>.csv` and `<name>.json` into `folder`, each atomically.
    public func write(to folder: URL, name: String) throws {
        try AtomicFile.ensureDirectory(folder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent("\(name).json"))
        try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("\(name).csv"))
        try AtomicFile.write(Data((markdown + "\n").utf8), to: folder.appendingPathComponent("\(name).md"))
    }
}
