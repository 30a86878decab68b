import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A site export with every hostile file of Tests/Oracles/hostile_corpus.py (and the
/// regression files fuzzing found, fixtures/hostile/) mixed in converts every good file, and
/// the report gives each hostile one its own line; the converting process stays within a
/// few hundred MB (its peak resident memory, as its summary prints it: VmHWM of its own
/// address space; wait4's ru_maxrss would include the test process's peak, which a
/// posix_spawned child inherits at exec).
@Suite struct HostileBatchTests {
    /// Peak resident memory allowed for a conversion of a small phantom site plus the corpus.
    static let memoryCeilingKiB = 400 * 1024

    /// Runs `medcil` with posix_spawn, output to a file, and returns its exit status and the
    /// peak resident memory its summary line "peak memory: N MiB" states (-1 when absent).
    static func runMeasured(_ arguments: [String], log: URL) throws -> (status: Int32, signal: Int32, maxRSSKiB: Int, output: String) {
        let executable = try Binary.medcil()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSupportError("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw TestSupportError("wait4 failed: errno \(errno)") }
        }
        let signal = status & 0x7F
        let exitCode = signal == 0 ? (status >> 8) & 0xFF : -1
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let peak = output.split(separator: "\n").lazy.compactMap { line -> Int? in
            guard let range = line.range(of: "peak memory: ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.first
        return (exitCode, signal, peak.map { $0 * 1024 } ?? -1, output)
    }

    static func files(under folder: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        var paths: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                paths.append(String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1)))
            }
        }
        return paths.sorted()
    }

    static func report(_ url: URL, list: String) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        return try #require(json?[list] as? [[String: Any]])
    }

    @Test func echoExportWithHostileFiles() throws {
        let root = TestPaths.temporaryDirectory("medcil-hostile-echo")
        defer { try? FileManager.default.removeItem(at: root) }
        let entries = try HostileCorpus.generate(into: root.appendingPathComponent("corpus")).filter { $0.kind == "dicom" }
        let export = root.appendingPathComponent("export")
        let phantom = try Binary.run(["phantom", "echo", "--out", export.path, "--sites", "d", "--per-view", "2", "--no-faults",
                                      "--progress", "off", "--threads", "2"])
        try #require(phantom.status == 0, "\(phantom.output)")
        let site = export.appendingPathComponent("site-d")
        let good = Self.files(under: site).filter { !$0.hasSuffix(".txt") }
        #expect(good.count == 8)

        // Hostile files in a folder of their own, with the regression files fuzzing found.
        let hostile = site.appendingPathComponent("Z-HOSTILE")
        try FileManager.default.createDirectory(at: hostile, withIntermediateDirectories: true)
        var expected: [String: String] = [:]
        for entry in entries {
            let name = URL(fileURLWithPath: entry.file).lastPathComponent
            try FileManager.default.copyItem(at: root.appendingPathComponent("corpus").appendingPathComponent(entry.file),
                                             to: hostile.appendingPathComponent(name))
            expected[name] = entry.expect
        }
        let fixtures = TestPaths.root.appendingPathComponent("fixtures/hostile/dicom")
        for name in Self.files(under: fixtures) where name.hasSuffix(".dcm") {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: hostile.appendingPathComponent(name))
            expected[name] = ""
        }
        #expect(expected.count >= 30)

        let out = root.appendingPathComponent("out")
        let run = try Self.runMeasured(["convert", "echo", "--config", TestPaths.converters.appendingPathComponent("phantom-echo-d.yaml").path,
                                        "--input", site.path, "--out", out.path, "--progress", "off", "--threads", "2"],
                                       log: root.appendingPathComponent("convert.log"))
        #expect(run.signal == 0, "medcil died of signal \(run.signal):\n\(run.output)")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.maxRSSKiB > 0 && run.maxRSSKiB < Self.memoryCeilingKiB, "peak resident memory \(run.maxRSSKiB / 1024) MiB")

        let files = try Self.report(out.appendingPathComponent("phantom-echo-d/report.json"), list: "files")
        // Every good cine converted.
        let converted = files.filter { ($0["outcome"] as? String) == "converted" }
        #expect(converted.count == good.count, "\(converted.count) of \(good.count) good cines converted")
        // Every hostile file listed, not converted, with its reason on one line.
        for (name, expect) in expected {
            let rows = files.filter { ($0["source"] as? String)?.hasSuffix("/" + name) == true }
            guard let row = rows.first, rows.count == 1 else {
                Issue.record("\(name) is listed \(rows.count) times in the report")
                continue
            }
            let reason = row["reason"] as? String ?? ""
            #expect(row["outcome"] as? String == "failed", "\(name): \(row)")
            #expect(!reason.isEmpty && !reason.contains("\n"), "\(name): '\(reason)'")
            #expect(expect.isEmpty || reason.contains(expect), "\(name): '\(reason)' does not say '\(expect)'")
        }
    }

    @Test func mrExportWithHostileFiles() throws {
        let root = TestPaths.temporaryDirectory("medcil-hostile-mr")
        defer { try? FileManager.default.removeItem(at: root) }
        // Oddities every reader accepts ("reads") are not hostile to a batch; the rest are.
        let entries = try HostileCorpus.generate(into: root.appendingPathComponent("corpus")).filter { $0.kind == "nifti" && $0.stage != "reads" }
        let export = root.appendingPathComponent("export")
        let phantom = try Binary.run(["phantom", "mr", "--out", export.path, "--sites", "b", "--subjects", "3", "--no-faults",
                                      "--progress", "off", "--threads", "2"])
        try #require(phantom.status == 0, "\(phantom.output)")
        let site = export.appendingPathComponent("site-b")
        let goodImages = Self.files(under: site).filter { $0.hasPrefix("imagesTr/") }
        #expect(goodImages.count == 3)

        // Each hostile volume as an image, paired with itself as its label volume (a good label
        // would fail the grid comparison first, before the image's voxels are read).
        var images: [String] = []
        var convertStage: [String: String] = [:]
        for entry in entries {
            let name = URL(fileURLWithPath: entry.file).lastPathComponent
            let gz = name.hasSuffix(".gz")
            let key = "hostile-" + name.replacingOccurrences(of: ".", with: "-")
            let image = "imagesTr/\(key)_0000.\(gz ? "nii.gz" : "nii")"
            try FileManager.default.copyItem(at: root.appendingPathComponent("corpus").appendingPathComponent(entry.file),
                                             to: site.appendingPathComponent(image))
            try FileManager.default.copyItem(at: root.appendingPathComponent("corpus").appendingPathComponent(entry.file),
                                             to: site.appendingPathComponent("labelsTr/\(key).\(gz ? "nii.gz" : "nii")"))
            images.append(image)
            if entry.stage == "convert" { convertStage[image] = entry.expect }
        }
        // And the regression files fuzzing found.
        let fixtures = TestPaths.root.appendingPathComponent("fixtures/hostile/nifti")
        for name in Self.files(under: fixtures) where name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") {
            let gz = name.hasSuffix(".gz")
            let key = "fixture-" + name.replacingOccurrences(of: ".", with: "-")
            let image = "imagesTr/\(key)_0000.\(gz ? "nii.gz" : "nii")"
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: site.appendingPathComponent(image))
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name),
                                             to: site.appendingPathComponent("labelsTr/\(key).\(gz ? "nii.gz" : "nii")"))
            images.append(image)
        }
        #expect(images.count >= 20)

        // The site's converter, with patterns that also take uncompressed .nii.
        var config = try String(contentsOf: TestPaths.converters.appendingPathComponent("phantom-mr-b.yaml"), encoding: .utf8)
        config = config.replacingOccurrences(of: #"_0000\.nii\.gz$"#, with: #"_0000\.nii(\.gz)?$"#)
            .replacingOccurrences(of: #"(?<volume>[^/]+)\.nii\.gz$'"#, with: #"(?<volume>[^/]+)\.nii(\.gz)?$'"#)
            .replacingOccurrences(of: "taxonomy: taxonomy/", with: "taxonomy: \(TestPaths.converters.path)/taxonomy/")
        #expect(config.contains(#"\.nii(\.gz)?$"#))
        let configURL = root.appendingPathComponent("mr-b-hostile.yaml")
        try config.write(to: configURL, atomically: true, encoding: .utf8)

        let out = root.appendingPathComponent("out")
        let run = try Self.runMeasured(["convert", "mr", "--config", configURL.path, "--input", site.path, "--out", out.path,
                                        "--progress", "off", "--threads", "2"],
                                       log: root.appendingPathComponent("convert.log"))
        #expect(run.signal == 0, "medcil died of signal \(run.signal):\n\(run.output)")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.maxRSSKiB > 0 && run.maxRSSKiB < Self.memoryCeilingKiB, "peak resident memory \(run.maxRSSKiB / 1024) MiB")

        let inputs = try Self.report(out.appendingPathComponent("phantom-mr-b/report.json"), list: "inputs")
        for image in goodImages {
            let row = inputs.first { ($0["source"] as? String) == image }
            #expect(row?["outcome"] as? String == "converted", "\(image): \(String(describing: row))")
        }
        for image in images {
            guard let row = inputs.first(where: { ($0["source"] as? String) == image }) else {
                Issue.record("\(image) is not in the report")
                continue
            }
            // The reason may be the MR checks' (a 7-D volume where 3-D is expected) rather than
            // the reader's: HostileNiftiTests checks the reader's own lines.
            let reason = row["reason"] as? String ?? ""
            #expect(row["outcome"] as? String == "failed", "\(image): \(row)")
            #expect(!reason.isEmpty && !reason.contains("\n"), "\(image): '\(reason)'")
            // Files the readers accept but a conversion must refuse (spacing of 1e30 mm ended
            // the batch with a trap in the slice geometry) give the conversion's reason.
            if let expect = convertStage[image] {
                #expect(reason.contains(expect), "\(image): '\(reason)' does not say '\(expect)'")
            }
        }
        #expect(!convertStage.isEmpty)
    }
}
