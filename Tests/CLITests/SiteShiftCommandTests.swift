import Foundation
import Testing
import TestSupport

/// `medcil site-shift` on two phantom sites converted by the command line: it prints the
/// held-out accuracy and writes the same result as JSON. Sites b and d differ in acquisition
/// (probe, depth, sector angle, dynamic range, smoothing, frame rate), so even two epochs tell
/// them apart clearly above chance (50 %).
@Suite struct SiteShiftCommandTests {
    @Test func measuresTwoConvertedSites() throws {
        let root = TestPaths.temporaryDirectory("medcil-site-shift-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
        let medcil = Binary.succeeding
        _ = try medcil(["phantom", "echo", "--out", path("raw"), "--sites", "b,d", "--per-view", "6", "--seed", "3", "--no-faults"])
        for site in ["b", "d"] {
            _ = try medcil(["convert", "echo", "--config", "converters/phantom-echo-\(site).yaml", "--input", path("raw/site-\(site)"),
                            "--out", path("shards"), "--size", "32x32"])
        }
        let output = try medcil(["site-shift", path("shards/phantom-echo-b"), path("shards/phantom-echo-d"), "--epochs", "2",
                                 "--out", path("shift.json")])
        #expect(output.contains("site classifier, held out: accuracy"))

        struct Shift: Decodable { var sites: [String]; var accuracy: Double; var balancedAccuracy: Double; var testSamples: [Int] }
        let shift = try JSONDecoder().decode(Shift.self, from: Data(contentsOf: URL(fileURLWithPath: path("shift.json"))))
        #expect(shift.sites == ["phantom-b", "phantom-d"])
        #expect(shift.testSamples.allSatisfy { $0 > 0 })
        #expect(shift.balancedAccuracy >= 0.75, "balanced accuracy \(shift.balancedAccuracy) (chance 0.5)")

        // One dataset is not a comparison.
        let single = try Binary.run(["site-shift", path("shards/phantom-echo-b")])
        #expect(single.status != 0 && single.output.contains("at least two"))
    }
}

extension Binary {
    /// Runs medcil quietly on two threads, expecting success; returns its output.
    static func succeeding(_ arguments: [String]) throws -> String {
        let result = try run(arguments + ["--progress", "off", "--threads", "2"])
        #expect(result.status == 0, "medcil \(arguments.joined(separator: " ")):\n\(result.output)")
        return result.output
    }
}
