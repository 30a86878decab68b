import Foundation

/// A plain-text table with aligned columns, for end-of-run summaries.
///
///     view        train  val  test
///     a4c           120   24    25
public struct TextTable: Sendable {
    public var header: [String]
    public var rows: [[String]] = []
    /// Columns whose values are right-aligned (numbers).
    public var rightAligned: Set<Int>

    public init(header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render(indent: String = "") -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all { for (k, cell) in row.enumerated() { widths[k] = max(widths[k], cell.count) } }
        func line(_ row: [String]) -> String {
            var cells: [String] = []
            for k in 0..<columns {
                let cell = k < row.count ? row[k] : ""
                let pad = String(repeating: " ", count: widths[k] - cell.count)
                cells.append(rightAligned.contains(k) ? pad + cell : cell + pad)
            }
            return indent + cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = [line(header)]
        out.append(indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        out.append(contentsOf: rows.map(line))
        return out.joined(separator: "\n")
    }
}
