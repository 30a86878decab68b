@testable import Ingest
import ArrayFiles
import DicomIO
import Foundation
import Phantoms
import Support
import TestSupport
import Testing

/// Phantom exports of the four sites (3 cines per view, broken files included), written once
/// for all end-to-end tests.
enum PhantomFixture {
    static let exports: URL = {
        let folder = TestPaths.temporaryDirectory("medcil-phantom-echo")
        for site in EchoPhantomSite.all {
            _ = try! EchoPhantomExporter.export(site: site, to: folder, perView: 3, seed: 21, faults: true, workers: 2, progress: .off)
        }
        return folder
    }()

    static func config(_ site: String) throws -> (EchoConverterConfig, URL) {
        let url = TestPaths.converters.appendingPathComponent("phantom-echo-\(site).yaml")
        return (try ConfigLoader.load(EchoConverterConfig.self, from: url), url)
    }

    /// Converts into `<out>/shards`, with the salt at `<out>/salt` and the state in `<out>/state`.
    static func convert(_ site: String, into out: URL, edit: (inout EchoConverterConfig) -> Void = { _ in }) throws -> EchoConversion.Summary {
        var (config, url) = try config(site)
        edit(&config)
        config.privacy.saltFile = out.appendingPathComponent("salt").path
        return try EchoConversion(config: config, configURL: url, inputRoot: exports.appendingPathComponent("site-\(site)"),
                                  outputRoot: out.appendingPathComponent("shards"), stateRoot: out.appendingPathComponent("state"),
                                  workers: 2, progressMode: .off).run()
    }

    /// Every regular file under a folder, relative paths.
    static func files(under folder: URL) -> [String] {
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])!
        var out: [String] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            out.append(String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1)))
        }
        return out.sorted()
    }
}

@Suite(.serialized) struct EchoConversionTests {
    @Test(arguments: ["a", "b", "c", "d"])
    func everyInputFileIsAccountedFor(site: String) throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try PhantomFixture.convert(site, into: out)
        let inputs = PhantomFixture.files(under: PhantomFixture.exports.appendingPathComponent("site-\(site)"))
        #expect(summary.report.files.count == inputs.count)
        #expect(summary.report.totals["seen"] == inputs.count)
        let views = EchoPhantomSite.named(site)!.views.count
        #expect(summary.report.totals["converted"] == 3 * views)
        #expect(summary.description.splits.values.reduce(0) { $0 + $1.samples } == 3 * views * 4, "4 frames per cine")
        for split in ["train", "val", "test"] { #expect((summary.description.splits[split]?.samples ?? 0) > 0, "\(split) is not empty") }
        // numpy opens every output with the documented shape and dtype.
        let output = try runOracle("check_shards.py", [summary.datasetDirectory.path])
        #expect(output.contains("ok \(3 * views * 4)"))
    }

    /// Site a's export holds a truncated cine, a text file, a header without pixels, a cine
    /// whose NumberOfFrames promises more than it holds, a JPEG 2000 cine and an ignored
    /// Doppler strip: each gets one clear line; everything else converts.
    @Test func brokenFilesAreReportedAndTheRestConverts() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try PhantomFixture.convert("a", into: out)
        func fate(_ name: String) -> FileFate? { summary.report.files.first { $0.source.hasSuffix(name) } }
        let expectations: [(String, FileFate.Outcome, String)] = [
            ("misc/IMG_T001.dcm", .failed, "unreadable DICOM"),
            ("misc/IMG_TXT1.dcm", .failed, "not a DICOM file"),
            ("misc/IMG_NP01.dcm", .failed, "no pixel data"),
            ("misc/IMG_BF01.dcm", .failed, "NumberOfFrames is 24 but the pixel data holds 12 frames"),
            ("misc/IMG_J2K1.dcm", .failed, "JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91)"),
            ("misc/IMG_DOP1.dcm", .ignoredLabel, "PW Doppler"),
            ("EXPORT-NOTES.txt", .excluded, "*.txt"),
        ]
        for (name, outcome, reason) in expectations {
            let found = fate(name)
            #expect(found?.outcome == outcome, "\(name)")
            #expect(found?.reason?.contains(reason) == true, "\(name): \(found?.reason ?? "no reason")")
            #expect(found?.reason?.contains("\n") == false, "one line")
        }
        #expect(summary.report.totals["converted"] == 24)
        let text = try String(contentsOf: summary.datasetDirectory.appendingPathComponent("report.txt"), encoding: .utf8)
        #expect(text.contains("misc/IMG_J2K1.dcm: failed: unsupported transfer syntax JPEG 2000"))
    }

    /// The converter's `limits:` reach the readers: with at most 4 frames a file, every phantom
    /// cine of site d (more frames than that) fails alone, naming the limit, and nothing converts.
    @Test func converterLimitsReachTheReaders() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try PhantomFixture.convert("d", into: out) { $0.limits.maxFrames = 4 }
        let failed = summary.report.files.filter { $0.outcome == .failed }
        #expect(summary.report.totals["converted"] ?? 0 == 0)
        #expect(failed.count == 3 * EchoPhantomSite.named("d")!.views.count)
        for file in failed { #expect(file.reason?.contains("max_frames = 4") == true, "\(file.source): \(file.reason ?? "no reason")") }
    }

    @Test func unmappedLabelsFailTheRunListingEachWithItsCount() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        #expect(throws: IngestError.unmappedLabels(["Unsorted": 2])) {
            _ = try PhantomFixture.convert("c", into: out) { $0.unmapped = .error }
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("shards/phantom-echo-c/manifest.csv").path), "nothing written")
        let skipped = try PhantomFixture.convert("c", into: out)
        #expect(skipped.report.totals["unmapped-label"] == 2)
        #expect(skipped.report.unmappedLabels == ["Unsorted": 2])
    }

    @Test func rerunResumesAndWritesIdenticalBytes() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let first = try PhantomFixture.convert("a", into: out)
        #expect(first.converted == 24 && first.reused == 0)
        let dataset = first.datasetDirectory
        let before = try snapshot(dataset)
        let second = try PhantomFixture.convert("a", into: out)
        #expect(second.converted == 0 && second.reused == 24)
        #expect(try snapshot(dataset) == before)
        // Lose one output and one record (as a crash would): the rerun redoes only those.
        let sample = first.report.files.first { $0.outcome == .converted }!
        let victim = try FileManager.default.contentsOfDirectory(atPath: dataset.appendingPathComponent(sample.split!).path).sorted().first!
        try FileManager.default.removeItem(at: dataset.appendingPathComponent(sample.split!).appendingPathComponent(victim))
        let third = try PhantomFixture.convert("a", into: out)
        #expect(third.converted == 1 && third.reused == 23)
        #expect(try snapshot(dataset) == before)
        // A fresh output folder with the same salt gives the same bytes.
        let other = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        try FileManager.default.copyItem(at: out.appendingPathComponent("salt"), to: other.appendingPathComponent("salt"))
        let fresh = try PhantomFixture.convert("a", into: other)
        #expect(try snapshot(fresh.datasetDirectory) == before)
        // The resolved config next to the data says a salt file was given, not where it is.
        let resolved = try String(contentsOf: fresh.datasetDirectory.appendingPathComponent("config.resolved.yaml"), encoding: .utf8)
        #expect(resolved.hasPrefix("# privacy.salt_file was given") && !resolved.contains(other.path), "\(resolved.prefix(300))")
    }

    @Test func packedLayoutHoldsTheSameSamples() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let files = try PhantomFixture.convert("b", into: out.appendingPathComponent("files"))
        try FileManager.default.createDirectory(at: out.appendingPathComponent("packed"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: out.appendingPathComponent("files/salt"), to: out.appendingPathComponent("packed/salt"))
        let packed = try PhantomFixture.convert("b", into: out.appendingPathComponent("packed")) {
            $0.output.layout = .packed
            $0.output.shardMegabytes = 0.05   // 3 samples of 112x112 per shard
        }
        let output = try runOracle("check_shards.py", [packed.datasetDirectory.path])
        #expect(output.contains("ok 24"))
        let filesManifest = try CSVTable(contentsOf: files.datasetDirectory.appendingPathComponent("manifest.csv"))
        let packedManifest = try CSVTable(contentsOf: packed.datasetDirectory.appendingPathComponent("manifest.csv"))
        #expect(filesManifest.rows.map { $0[0] } == packedManifest.rows.map { $0[0] }, "same samples in the same order")
        let fileColumn = filesManifest.column("file")!, indexColumn = packedManifest.column("index")!
        var shards: [String: MappedNpy] = [:]
        for (a, b) in zip(filesManifest.rows, packedManifest.rows) {
            let single = try NpyArray.read(from: files.datasetDirectory.appendingPathComponent(a[fileColumn]))
            let shardPath = b[fileColumn]
            if shards[shardPath] == nil { shards[shardPath] = try MappedNpy(url: packed.datasetDirectory.appendingPathComponent(shardPath)) }
            #expect(Array(shards[shardPath]!.item(Int(b[indexColumn])!)) == Array(single.data))
        }
        #expect(Set(packedManifest.rows.map { $0[fileColumn] }).count > 3, "more than one shard per split")
        // Rerun of the packed layout: nothing to rewrite, same bytes.
        let before = try snapshot(packed.datasetDirectory)
        let again = try PhantomFixture.convert("b", into: out.appendingPathComponent("packed")) {
            $0.output.layout = .packed
            $0.output.shardMegabytes = 0.05
        }
        #expect(again.reused == 6)
        #expect(try snapshot(packed.datasetDirectory) == before)
    }

    @Test func patientsNeverSpanSplits() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try PhantomFixture.convert("c", into: out)
        let manifest = try CSVTable(contentsOf: summary.datasetDirectory.appendingPathComponent("manifest.csv"))
        let patient = manifest.column("patient")!, split = manifest.column("split")!
        var splitOf: [String: Set<String>] = [:]
        for row in manifest.rows { splitOf[row[patient], default: []].insert(row[split]) }
        #expect(splitOf.count == 3)
        #expect(splitOf.values.allSatisfy { $0.count == 1 })
    }

    /// Patient names, IDs, birth and study dates and every UID of the inputs appear nowhere in
    /// the outputs (site a keeps names and birth dates in its folder names).
    @Test(arguments: ["a", "c"])
    func noPatientIdentifiersInOutputs(site: String) throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try PhantomFixture.convert(site, into: out)
        var identifiers: Set<String> = []
        let root = PhantomFixture.exports.appendingPathComponent("site-\(site)")
        for relative in PhantomFixture.files(under: root) {
            guard let file = try? DicomFile(path: root.appendingPathComponent(relative).path) else { continue }
            let ds = file.dataset
            for tag in [DicomTag.patientID, .patientBirthDate, .studyDate, .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID] {
                if let value = ds.string(tag) { identifiers.insert(value) }
            }
            for part in (ds.string(.patientName) ?? "").split(separator: "^") where part.count >= 3 { identifiers.insert(String(part)) }
        }
        #expect(identifiers.count > 10)
        for relative in PhantomFixture.files(under: summary.datasetDirectory) where !relative.hasSuffix(".npy") {
            let text = try String(contentsOf: summary.datasetDirectory.appendingPathComponent(relative), encoding: .utf8)
            for identifier in identifiers { #expect(!text.contains(identifier), "\(identifier) in \(relative)") }
        }
    }

    func snapshot(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for relative in PhantomFixture.files(under: folder) { out[relative] = try Data(contentsOf: folder.appendingPathComponent(relative)) }
        return out
    }
}
