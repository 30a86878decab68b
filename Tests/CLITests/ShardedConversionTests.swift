import Foundation
import Testing
import TestSupport

/// A conversion planned once, run as 3 parts in 3 concurrent processes, then merged, gives
/// the same bytes as one process converting the whole site: echo in both layouts, MR; and a
/// part killed with SIGKILL, then rerun, still merges to the same bytes.
@Suite(.serialized) struct ShardedConversionTests {
    static let root = TestPaths.temporaryDirectory("medcil-sharded")

    /// One salt for every conversion, so that identifiers agree between the runs compared.
    static let salt: URL = {
        let url = root.appendingPathComponent("salt")
        try? Data((0..<32).map { UInt8($0 * 7 + 3) }).write(to: url)
        return url
    }()

    /// Phantom echo site a with 3 patients (one per cine index; 8 views), and MR site a with 4 subjects.
    static let echoExport: String = {
        let raw = root.appendingPathComponent("echo-raw").path
        _ = try? Binary.run(["phantom", "echo", "--out", raw, "--sites", "a", "--per-view", "3", "--seed", "5", "--progress", "off"])
        return "\(raw)/site-a"
    }()

    static let mrExport: String = {
        let raw = root.appendingPathComponent("mr-raw").path
        _ = try? Binary.run(["phantom", "mr", "--out", raw, "--sites", "a", "--subjects", "4", "--seed", "5", "--progress", "off"])
        return "\(raw)/site-a"
    }()

    /// Site a's echo converter with small packed shards (two 4-frame 32x32 samples each), so
    /// that the merge must renumber samples across many shards.
    static let packedConverter: String = {
        let url = root.appendingPathComponent("phantom-echo-a-packed.yaml")
        let original = (try? String(contentsOf: TestPaths.converters.appendingPathComponent("phantom-echo-a.yaml"), encoding: .utf8)) ?? ""
        let text = original.replacingOccurrences(of: "taxonomy: taxonomy/", with: "taxonomy: \(TestPaths.converters.path)/taxonomy/")
            + "\noutput:\n  layout: packed\n  shard_megabytes: 0.01\n"
        try? text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }()

    static func medcil(_ arguments: [String]) throws -> String {
        let result = try Binary.run(arguments + ["--progress", "off"])
        #expect(result.status == 0, "medcil \(arguments.joined(separator: " ")):\n\(result.output)")
        return result.output
    }

    /// Starts one process per argument list at once and waits for all; returns their exit statuses.
    static func runConcurrently(_ commands: [[String]]) throws -> [Int32] {
        let processes = try commands.map { arguments -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try Binary.medcil())
            process.arguments = arguments + ["--progress", "off"]
            process.currentDirectoryURL = TestPaths.root
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        return processes.map { $0.waitUntilExit(); return $0.terminationStatus }
    }

    /// Every file under `folder`, by relative path.
    static func files(_ folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let base = folder.standardizedFileURL.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [:] }
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            result[String(path.dropFirst(base.count + 1))] = try Data(contentsOf: url)
        }
        return result
    }

    static func expectIdentical(_ expected: URL, _ got: URL, comment: String) throws {
        let a = try files(expected), b = try files(got)
        #expect(!a.isEmpty, "\(comment): the one-process conversion wrote nothing")
        #expect(a.keys.sorted() == b.keys.sorted(), "\(comment): file lists differ")
        for (name, data) in a where b[name] != data { Issue.record("\(comment): \(name) differs") }
    }

    /// Converts in one process, then as `parts` concurrent parts plus a merge; returns both output roots.
    static func convertBothWays(kind: String, arguments: [String], label: String, parts: Int = 3) throws -> (one: URL, merged: URL) {
        let one = root.appendingPathComponent("\(label)-one"), merged = root.appendingPathComponent("\(label)-merged")
        let common = ["convert", kind] + arguments + ["--size", "32x32", "--salt-file", salt.path]
        _ = try medcil(common + ["--out", one.path, "--state", root.appendingPathComponent("\(label)-one-state").path, "--threads", "2"])
        let sharded = common + ["--out", merged.path, "--state", root.appendingPathComponent("\(label)-state").path]
        let plan = try medcil(sharded + ["--plan-only"])
        #expect(plan.contains("plan "), "\(plan)")
        #expect(!FileManager.default.fileExists(atPath: merged.appendingPathComponent("plan.json").path))
        let statuses = try runConcurrently((1...parts).map { sharded + ["--shard", "\($0)/\(parts)", "--threads", "1"] })
        #expect(statuses == [Int32](repeating: 0, count: parts), "parts exited with \(statuses)")
        let status = try Binary.run(["convert", "status", "--out", merged.path, "--state", root.appendingPathComponent("\(label)-state").path]).output
        #expect(status.contains("\(parts) of \(parts) parts done"), "\(status)")
        _ = try medcil(["convert", "merge", "--out", merged.path, "--state", root.appendingPathComponent("\(label)-state").path])
        return (one, merged)
    }

    @Test func echoFilesLayoutThreePartsMatchOneProcess() throws {
        let (one, merged) = try Self.convertBothWays(kind: "echo", arguments: ["--config", "converters/phantom-echo-a.yaml", "--input", Self.echoExport],
                                                     label: "echo-files")
        try Self.expectIdentical(one, merged, comment: "echo files")
        // Every part converted something: the partition kept each of the 3 patients whole and used every part.
        let parts = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("echo-files-state/phantom-echo-a/parts").path)
        #expect(parts.sorted() == ["part-0001-of-0003.json", "part-0002-of-0003.json", "part-0003-of-0003.json"])
        for name in parts {
            let data = try Data(contentsOf: Self.root.appendingPathComponent("echo-files-state/phantom-echo-a/parts/\(name)"))
            let status = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            #expect((status["units"] as! Int) > 0 && status["state"] as? String == "done", "\(name): \(status)")
        }
    }

    @Test func echoPackedLayoutThreePartsMatchOneProcess() throws {
        let (one, merged) = try Self.convertBothWays(kind: "echo", arguments: ["--config", Self.packedConverter, "--input", Self.echoExport],
                                                     label: "echo-packed")
        try Self.expectIdentical(one, merged, comment: "echo packed")
        let shards = try FileManager.default.contentsOfDirectory(atPath: merged.appendingPathComponent("phantom-echo-a/train").path)
            .filter { $0.hasPrefix("shard-") }
        #expect(shards.count > 3, "the packed test needs several shards per split to check renumbering: \(shards)")
    }

    @Test func mrThreePartsMatchOneProcess() throws {
        let (one, merged) = try Self.convertBothWays(kind: "mr", arguments: ["--config", "converters/phantom-mr-a.yaml", "--input", Self.mrExport],
                                                     label: "mr")
        try Self.expectIdentical(one, merged, comment: "mr")
        let report = try String(contentsOf: merged.appendingPathComponent("phantom-mr-a/report.txt"), encoding: .utf8)
        #expect(report.contains("not converted:"), "the MR phantom's broken volumes must pass through a part as stored failures:\n\(report)")
    }

    @Test func killedPartRerunsAndMergeIsStillIdentical() throws {
        let one = Self.root.appendingPathComponent("echo-files-one")
        if !FileManager.default.fileExists(atPath: one.appendingPathComponent("phantom-echo-a/dataset.json").path) {
            _ = try Self.convertBothWays(kind: "echo", arguments: ["--config", "converters/phantom-echo-a.yaml", "--input", Self.echoExport],
                                         label: "echo-files")
        }
        let out = Self.root.appendingPathComponent("echo-killed"), state = Self.root.appendingPathComponent("echo-killed-state")
        let sharded = ["convert", "echo", "--config", "converters/phantom-echo-a.yaml", "--input", Self.echoExport, "--size", "32x32",
                       "--salt-file", Self.salt.path, "--out", out.path, "--state", state.path]
        _ = try Self.medcil(sharded + ["--plan-only"])
        #expect(try Self.runConcurrently([sharded + ["--shard", "2/3"], sharded + ["--shard", "3/3"]]) == [0, 0])

        // Part 1 alone: killed once its first record is saved.
        // Committed records only: a record is written to a temporary file in the same folder
        // (`AtomicFile.temporaryPrefix`, ".tmp-") and renamed; counting that file killed the
        // part before its first record existed (the rerun then reused none).
        let records = state.appendingPathComponent("phantom-echo-a/records")
        func saved() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: records.path)) ?? []).filter { !$0.hasPrefix(".tmp-") }.count
        }
        let before = saved()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binary.medcil())
        process.arguments = sharded + ["--shard", "1/3", "--threads", "1", "--progress", "off"]
        process.currentDirectoryURL = TestPaths.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning && saved() <= before { usleep(5_000) }
        let killedWhileRunning = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(killedWhileRunning && process.terminationReason == .uncaughtSignal, "part 1 ended before its first record")

        // The merge refuses, naming part 1, its state and its rerun command; status agrees.
        let refused = try Binary.run(["convert", "merge", "--out", out.path, "--state", state.path, "--progress", "off"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("part 1/3:") && refused.output.contains("interrupted") &&
                refused.output.contains("--shard 1/3"), "\(refused.output)")
        #expect(!refused.output.contains("part 2/3:"), "\(refused.output)")
        let status = try Binary.run(["convert", "status", "--out", out.path, "--state", state.path]).output
        #expect(status.contains("2 of 3 parts done") && status.contains("interrupted"), "\(status)")

        let rerun = try Self.medcil(sharded + ["--shard", "1/3", "--threads", "1"])
        #expect(rerun.contains("reused") && !rerun.contains(" 0 reused"), "the rerun must reuse what the killed part finished: \(rerun)")
        _ = try Self.medcil(["convert", "merge", "--out", out.path, "--state", state.path])
        try Self.expectIdentical(one, out, comment: "killed and rerun")
    }

    @Test func partsRefuseWithoutAPlanOrWithOtherSettings() throws {
        let out = Self.root.appendingPathComponent("refuse"), state = Self.root.appendingPathComponent("refuse-state")
        let sharded = ["convert", "echo", "--config", "converters/phantom-echo-a.yaml", "--input", Self.echoExport, "--size", "32x32",
                       "--salt-file", Self.salt.path, "--out", out.path, "--state", state.path]
        let noPlan = try Binary.run(sharded + ["--shard", "1/2", "--progress", "off"])
        #expect(noPlan.status == 1 && noPlan.output.contains("--plan-only"), "\(noPlan.output)")
        _ = try Self.medcil(sharded + ["--plan-only"])
        let other = try Binary.run(sharded + ["--shard", "1/2", "--split-seed", "99", "--progress", "off"])
        #expect(other.status == 1 && other.output.contains("other converter settings"), "\(other.output)")
        let bad = try Binary.run(sharded + ["--shard", "3/2", "--progress", "off"])
        #expect(bad.status != 0 && bad.output.contains("I/N"), "\(bad.output)")
        let none = try Binary.run(["convert", "merge", "--out", out.path, "--state", state.path, "--progress", "off"])
        #expect(none.status == 1 && none.output.contains("no part has run"), "\(none.output)")
    }

    @Test func featureExportInThreePartsMatchesOneExport() throws {
        let converted = Self.root.appendingPathComponent("echo-files-one/phantom-echo-a")
        if !FileManager.default.fileExists(atPath: converted.appendingPathComponent("dataset.json").path) {
            _ = try Self.convertBothWays(kind: "echo", arguments: ["--config", "converters/phantom-echo-a.yaml", "--input", Self.echoExport],
                                         label: "echo-files")
        }
        let expert = Self.root.appendingPathComponent("expert")
        _ = try Self.medcil(["train", "classifier", "--shards", converted.path, "--out", expert.path, "--architecture", "small-cnn",
                             "--width", "4", "--epochs", "1", "--batch-size", "32", "--threads", "2"])
        // Two augmented passes: the parts must reproduce the per-sample augmentation too.
        let export = ["features", "export", "--experts", expert.path, "--shards", converted.path, "--split", "train", "--passes", "2", "--seed", "3"]
        let whole = Self.root.appendingPathComponent("features-whole"), merged = Self.root.appendingPathComponent("features-merged")
        _ = try Self.medcil(export + ["--out", whole.path, "--threads", "2"])
        let statuses = try Self.runConcurrently((1...3).map { export + ["--out", merged.path, "--shard", "\($0)/3", "--threads", "1"] })
        #expect(statuses == [0, 0, 0], "parts exited with \(statuses)")
        let early = try Binary.run(["features", "merge", "--out", Self.root.appendingPathComponent("features-nothing").path])
        #expect(early.status != 0 && early.output.contains("no finished parts"), "\(early.output)")
        // A missing part is named with its rerun command.
        let partTwo = merged.appendingPathComponent("parts/part-0002-of-0003")
        let saved = Self.root.appendingPathComponent("part-two-aside")
        try FileManager.default.moveItem(at: partTwo, to: saved)
        let refused = try Binary.run(["features", "merge", "--out", merged.path])
        #expect(refused.status != 0 && refused.output.contains("part 2/3") && refused.output.contains("--shard 2/3"), "\(refused.output)")
        try FileManager.default.moveItem(at: saved, to: partTwo)
        let merge = try Binary.run(["features", "merge", "--out", merged.path])
        #expect(merge.status == 0, "\(merge.output)")
        #expect(!FileManager.default.fileExists(atPath: merged.appendingPathComponent("parts").path))
        try Self.expectIdentical(whole, merged, comment: "feature export")
        // Merging again reads the finished export back instead of failing, and changes nothing.
        let again = try Binary.run(["features", "merge", "--out", merged.path])
        #expect(again.status == 0 && again.output.contains("already merged"), "\(again.output)")
        try Self.expectIdentical(whole, merged, comment: "feature export merged twice")
    }
}
