import Foundation

/// One of N parts of a planned job (`--shard I/N` on the command line, 1-based), as a
/// scheduler's array task runs it: Slurm's `SLURM_ARRAY_TASK_ID`, Kubernetes'
/// `JOB_COMPLETION_INDEX`.
public struct WorkPart: Codable, Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (1...count).contains(index) else {
            throw ConfigError("a part is I/N with 1 <= I <= N (got \(index)/\(count))")
        }
        self.index = index
        self.count = count
    }

    /// `2/4` -> part 2 of 4.
    public init(parsing text: String) throws {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, let i = Int(pieces[0]), let n = Int(pieces[1]) else {
            throw ConfigError("a part is written I/N, e.g. 2/4 (got '\(text)')")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// A file-name-safe name that sorts by index: `part-0002-of-0004`.
    public var fileStem: String { String(format: "part-%04d-of-%04d", index, count) }
}

/// Work estimates from header sizes.
public enum WorkEstimate {
    /// The product of `sizes` (frames x rows x columns, a volume's dimensions), at least 1 per
    /// factor and capped at 10^15, so that a hostile header's sizes cannot overflow it.
    public static func product(_ sizes: [Int]) -> Int {
        Int(min(sizes.reduce(1.0) { $0 * Double(max($1, 1)) }, 1e15))
    }
}

/// Splits work items into parts of about equal work, keeping the items of one group
/// (a patient) together.
///
/// Groups are placed largest first (ties: the group whose first item comes first) into the
/// part with the least work so far (ties: the lowest part): the longest-processing-time rule,
/// whose largest part is at most 4/3 of the optimum. It depends only on the items' order,
/// groups and estimates, so every machine computes the same partition.
public enum WorkPartition {
    /// - Returns: the 0-based part of each item.
    public static func assign(groups: [String], work: [Int], parts: Int) -> [Int] {
        precondition(groups.count == work.count && parts >= 1)
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for (item, group) in groups.enumerated() {
            if members[group] == nil { order.append(group) }
            members[group, default: []].append(item)
        }
        let weight = Dictionary(uniqueKeysWithValues: order.map { g in (g, members[g]!.reduce(0) { $0 + max(work[$1], 1) }) })
        let first = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
        let sorted = order.sorted { weight[$0]! != weight[$1]! ? weight[$0]! > weight[$1]! : first[$0]! < first[$1]! }
        var load = [Int](repeating: 0, count: parts)
        var result = [Int](repeating: 0, count: groups.count)
        for group in sorted {
            let part = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            load[part] += weight[group]!
            for item in members[group]! { result[item] = part }
        }
        return result
    }
}
