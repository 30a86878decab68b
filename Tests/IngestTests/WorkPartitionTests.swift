import Support
import Testing

/// The partition of a plan into parts (`WorkPartition`, `WorkPart`).
@Suite struct WorkPartitionTests {
    /// Worked by hand: group weights a = 10, b = 3, c = 4, d = 2; placed largest first into the
    /// lightest part: a -> 0 (10), c -> 1 (4), b -> 1 (7), d -> 1 (9).
    @Test func largestGroupsFirstIntoTheLightestPart() {
        let parts = WorkPartition.assign(groups: ["a", "a", "b", "c", "d"], work: [5, 5, 3, 4, 2], parts: 2)
        #expect(parts == [0, 0, 1, 1, 1])
    }

    /// Equal weights: ties go to the group seen first and to the lowest part, so the
    /// partition depends only on the plan's order.
    @Test func tiesFollowThePlanOrder() {
        #expect(WorkPartition.assign(groups: ["x", "y", "z", "w"], work: [1, 1, 1, 1], parts: 3) == [0, 1, 2, 0])
        // Zero estimates (unreadable headers) still count as one unit of work each.
        #expect(WorkPartition.assign(groups: ["x", "y"], work: [0, 0], parts: 2) == [0, 1])
    }

    @Test func aGroupNeverSpansTwoParts() {
        let groups = (0..<200).map { "p\(($0 * 7919) % 37)" }
        let work = (0..<200).map { ($0 * 104_729) % 1000 }
        let parts = WorkPartition.assign(groups: groups, work: work, parts: 4)
        var partOf: [String: Int] = [:]
        for (group, part) in zip(groups, parts) {
            #expect(partOf[group, default: part] == part, "group \(group) in two parts")
            partOf[group] = part
        }
        // The longest-processing-time rule's bound: no part above 4/3 of the best possible,
        // and the best possible is at least the mean and at least the largest group.
        var load = [Int](repeating: 0, count: 4)
        for (k, part) in parts.enumerated() { load[part] += max(work[k], 1) }
        var weights: [String: Int] = [:]
        for (k, group) in groups.enumerated() { weights[group, default: 0] += max(work[k], 1) }
        let lowerBound = max(Double(load.reduce(0, +)) / 4, Double(weights.values.max()!))
        #expect(Double(load.max()!) <= lowerBound * 4 / 3 + 1, "\(load)")
    }

    @Test func partsParseAndRefuseOutOfRange() throws {
        let part = try WorkPart(parsing: "2/4")
        #expect(part.index == 2 && part.count == 4 && part.fileStem == "part-0002-of-0004")
        for text in ["0/4", "5/4", "2", "a/b", "2/0", "-1/3"] {
            #expect(throws: (any Error).self, "\(text)") { _ = try WorkPart(parsing: text) }
        }
    }

    /// Header sizes multiply; a hostile header's sizes (a NIfTI dim of 2^62) cap instead of trapping.
    @Test func workEstimatesNeverOverflow() {
        #expect(WorkEstimate.product([3, 4, 5]) == 60)
        #expect(WorkEstimate.product([0, 7]) == 7)
        #expect(WorkEstimate.product([1 << 62, 1 << 62, 3]) == 1_000_000_000_000_000)
    }
}
