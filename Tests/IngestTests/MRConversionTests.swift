@testable import Ingest
@testable import Phantoms
import ArrayFiles
import Foundation
import NiftiIO
import Support
import TestSupport
import Testing

/// Phantom MR exports of the three sites (4 subjects each; site a with its broken files),
/// written once for all end-to-end tests.
enum MRPhantomFixture {
    static let exports: URL = {
        let folder = TestPaths.temporaryDirectory("medcil-phantom-mr")
        for site in MRPhantomSite.all {
            _ = try! MRPhantomExporter.export(site: site, to: folder, subjects: 4, seed: 21, faults: true, workers: 2, progress: .off)
        }
        return folder
    }()

    static func config(_ site: String) throws -> (MRConverterConfig, URL) {
        let url = TestPaths.converters.appendingPathComponent("phantom-mr-\(site).yaml")
        return (try ConfigLoader.load(MRConverterConfig.self, from: url), url)
    }

    static func input(_ site: String) -> URL { exports.appendingPathComponent("site-\(site)") }

    /// Converts into `<out>/shards`, with the salt at `<out>/salt` and the state in `<out>/state`.
    static func convert(_ site: String, into out: URL, workers: Int = 2, edit: (inout MRConverterConfig) -> Void = { _ in }) throws -> MRConversion.Summary {
        var (config, url) = try config(site)
        edit(&config)
        config.privacy.saltFile = out.appendingPathComponent("salt").path
        return try MRConversion(config: config, configURL: url, inputRoot: input(site), outputRoot: out.appendingPathComponent("shards"),
                                stateRoot: out.appendingPathComponent("state"), workers: workers, progressMode: .off).run()
    }

    static func files(under folder: URL) -> [String] { PhantomFixture.files(under: folder) }

    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for relative in files(under: folder) { out[relative] = try Data(contentsOf: folder.appendingPathComponent(relative)) }
        return out
    }
}

@Suite(.serialized) struct MRConversionTests {
    /// Every input file is in the report; numpy opens every output with the documented shape
    /// and dtype; and every slice equals nibabel + numpy + Pillow doing the same steps.
    @Test(arguments: ["a", "b", "c"])
    func everyInputIsAccountedForAndSlicesMatchNibabel(site: String) throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert(site, into: out)
        let inputs = MRPhantomFixture.files(under: MRPhantomFixture.input(site))
        #expect(summary.report.inputs.count == inputs.count)
        #expect(summary.report.totals["seen"] == inputs.count)
        let volumes = site == "a" ? 6 : 4
        #expect(summary.report.totals["converted"] == 2 * volumes, "image and label volume of each pair")
        #expect(summary.description.volumes.count == volumes)
        for split in ["train", "val", "test"] { #expect((summary.description.splits[split]?.volumes ?? 0) > 0, "\(split) is not empty") }
        let output = try runOracle("nibabel_mr_dataset.py", [summary.datasetDirectory.path, MRPhantomFixture.input(site).path,
                                                             out.appendingPathComponent("state").path, out.appendingPathComponent("salt").path])
        let slices = summary.description.splits.values.reduce(0) { $0 + $1.slices }
        #expect(output.contains("ok \(slices) \(volumes)"), "\(output)")
    }

    /// Site a's export holds a truncated .nii.gz, a label volume one slice short, a label
    /// volume shifted by 3 mm, an image with NaNs, a complex64 image, a 4D image, a label
    /// value the map does not list and an image without labels: each gives one line naming
    /// the file and the reason, and everything else converts.
    @Test func brokenInputsEachGiveOneLineAndTheRestConverts() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert("a", into: out)
        let expectations: [(String, MRInputFate.Outcome, String)] = [
            ("sub-A001/ses-7/anat/sub-A001_ses-7_T1w.nii.gz", .failed, "image: unreadable NIfTI: the voxel data cannot be read: the gzip stream ends early"),
            ("derivatives/labels/sub-A002/ses-7/anat/sub-A002_ses-7_T1w_humerus.nii.gz", .failed,
             "the label grid differs from the image grid: shape 80x80x25 vs 80x80x26"),
            ("sub-A003/ses-7/anat/sub-A003_ses-7_T1w.nii.gz", .failed, "image: 500 NaN and 0 infinite voxel values"),
            ("sub-A001/ses-8/anat/sub-A001_ses-8_T1w.nii.gz", .failed, "unsupported NIfTI datatype COMPLEX64 (code 32)"),
            ("sub-A002/ses-8/anat/sub-A002_ses-8_T1w.nii.gz", .failed, "4D volume (shape 80x80x26x2) where a 3D volume is expected"),
            ("derivatives/labels/sub-A003/ses-8/anat/sub-A003_ses-8_T1w_humerus.nii.gz", .unmappedLabel,
             "value 3 (300 voxels) not in label_map (unlisted_values: error)"),
            ("sub-A001/ses-9/anat/sub-A001_ses-9_T1w.nii.gz", .unpaired, "no label volume matches pairing.label"),
            ("derivatives/labels/sub-A002/ses-9/anat/sub-A002_ses-9_T1w_humerus.nii.gz", .failed, "the affines differ by up to 3"),
            ("README.txt", .excluded, "*.txt"),
        ]
        let text = try String(contentsOf: summary.datasetDirectory.appendingPathComponent("report.txt"), encoding: .utf8)
        for (source, outcome, reason) in expectations {
            let fate = summary.report.inputs.first { $0.source == source }
            #expect(fate?.outcome == outcome, "\(source)")
            #expect(fate?.reason?.contains(reason) == true, "\(source): \(fate?.reason ?? "no reason")")
            #expect(fate?.reason?.contains("\n") == false)
            if outcome != .excluded {
                #expect(fate?.cause == true)
                #expect(text.components(separatedBy: "\n").filter { $0.contains("    \(source): \(outcome.rawValue): ") }.count == 1,
                        "one line in report.txt for \(source)")
            }
        }
        // The partner of a broken file says which file failed, and is not listed again.
        let partner = try #require(summary.report.inputs.first { $0.source == "derivatives/labels/sub-A001/ses-7/anat/sub-A001_ses-7_T1w_humerus.nii.gz" })
        #expect(partner.outcome == .failed && !partner.cause && partner.reason?.contains("sub-A001_ses-7_T1w.nii.gz failed") == true)
        let problemLines = text.components(separatedBy: "\n").filter { line in
            line.hasPrefix("    ") && [": failed: ", ": unpaired: ", ": unmapped-label: "].contains { line.contains($0) }
        }
        #expect(problemLines.count == 8, "one line per broken input:\n\(problemLines.joined(separator: "\n"))")
        #expect(summary.description.volumes.count == 6, "every good volume converts")
        #expect(summary.report.unlistedValues == ["3": 1])
    }

    @Test func unlistedValuesCanBeIgnored() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert("a", into: out) { $0.unlistedValues = .ignore }
        let fate = summary.report.inputs.first { $0.source == "derivatives/labels/sub-A003/ses-8/anat/sub-A003_ses-8_T1w_humerus.nii.gz" }
        #expect(fate?.outcome == .converted)
        #expect(summary.report.ignoredValues == ["3": 300])
        #expect(summary.description.volumes.count == 7)
        #expect(try String(contentsOf: summary.datasetDirectory.appendingPathComponent("report.txt"), encoding: .utf8)
            .contains("unlisted label values set to 0: 3 (300 voxels)"))
    }

    @Test func rerunResumesAndWritesIdenticalBytes() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let first = try MRPhantomFixture.convert("b", into: out)
        #expect(first.converted == 4 && first.reused == 0)
        let dataset = first.datasetDirectory
        let before = try MRPhantomFixture.snapshot(dataset)
        let second = try MRPhantomFixture.convert("b", into: out, workers: 1)
        #expect(second.converted == 0 && second.reused == 4)
        #expect(try MRPhantomFixture.snapshot(dataset) == before)
        // Lose one mask (as a crash would): the rerun redoes only that volume.
        let victim = try #require(before.keys.sorted().first { $0.hasSuffix("_mask.npy") })
        try FileManager.default.removeItem(at: dataset.appendingPathComponent(victim))
        let third = try MRPhantomFixture.convert("b", into: out)
        #expect(third.converted == 1 && third.reused == 3)
        #expect(try MRPhantomFixture.snapshot(dataset) == before)
        // One worker or two, fresh output folder with the same salt: the same bytes.
        let other = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        try FileManager.default.copyItem(at: out.appendingPathComponent("salt"), to: other.appendingPathComponent("salt"))
        let fresh = try MRPhantomFixture.convert("b", into: other, workers: 1)
        #expect(try MRPhantomFixture.snapshot(fresh.datasetDirectory) == before)
        // A new output size reconverts everything and removes nothing it still needs.
        let resized = try MRPhantomFixture.convert("b", into: out) { $0.geometry.size = [96, 112] }
        #expect(resized.converted == 4 && resized.prunedOutputs == 0)
        let output = try runOracle("nibabel_mr_dataset.py", [resized.datasetDirectory.path, MRPhantomFixture.input("b").path,
                                                             out.appendingPathComponent("state").path, out.appendingPathComponent("salt").path])
        #expect(output.hasPrefix("ok "))
    }

    /// Slices of one volume, and volumes of one subject (site a: two sessions for some), are
    /// always in one split; the assignment is the same on every run.
    @Test func volumesAndSubjectsNeverSpanSplits() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert("a", into: out)
        let manifest = try CSVTable(contentsOf: summary.datasetDirectory.appendingPathComponent("manifest.csv"))
        let volume = manifest.column("volume")!, subject = manifest.column("subject")!, split = manifest.column("split")!
        var splitOfVolume: [String: Set<String>] = [:], splitOfSubject: [String: Set<String>] = [:], volumesOfSubject: [String: Set<String>] = [:]
        for row in manifest.rows {
            splitOfVolume[row[volume], default: []].insert(row[split])
            splitOfSubject[row[subject], default: []].insert(row[split])
            volumesOfSubject[row[subject], default: []].insert(row[volume])
        }
        #expect(splitOfVolume.count == 6 && splitOfSubject.count == 4)
        #expect(splitOfVolume.values.allSatisfy { $0.count == 1 } && splitOfSubject.values.allSatisfy { $0.count == 1 })
        #expect(volumesOfSubject.values.contains { $0.count == 2 }, "some subjects have two sessions")
        #expect(summary.description.split.groupedBy.hasPrefix("subject"))
        let again = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: again) }
        try FileManager.default.copyItem(at: out.appendingPathComponent("salt"), to: again.appendingPathComponent("salt"))
        let second = try MRPhantomFixture.convert("a", into: again, workers: 1)
        #expect(second.description.volumes.mapValues(\.split) == summary.description.volumes.mapValues(\.split))
    }

    /// A site that does not annotate a class says nothing about it: dataset.json lists the
    /// annotated classes, the manifest leaves their pixel counts empty (not 0), masks hold
    /// only the site's classes, and slices without foreground are kept and flagged.
    @Test(arguments: [("a", ["humerus"], [0, 1]), ("b", ["scapula"], [0, 2]), ("c", ["scapula"], [0, 2])] as [(String, [String], Set<UInt8>)])
    func notAnnotatedIsNotAbsent(site: String, annotated: [String], maskValues: Set<UInt8>) throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert(site, into: out)
        let d = summary.description
        #expect(d.annotatedClasses == annotated)
        #expect(Set(d.notAnnotatedClasses) == Set(["humerus", "scapula", "clavicle"]).subtracting(annotated))
        #expect(d.labels == ["background": 0, "humerus": 1, "scapula": 2, "clavicle": 3])
        let manifest = try CSVTable(contentsOf: summary.datasetDirectory.appendingPathComponent("manifest.csv"))
        var seen = Set<UInt8>(), empty = 0
        for row in manifest.rows {
            for name in ["humerus", "scapula", "clavicle"] {
                let cell = row[manifest.column("px_" + name)!]
                #expect(annotated.contains(name) ? Int(cell) != nil : cell.isEmpty, "\(name): '\(cell)'")
            }
            #expect(row[manifest.column("annotated")!] == annotated.joined(separator: ";"))
            if row[manifest.column("empty")!] == "1" { empty += 1 }
            seen.formUnion(try NpyArray.read(from: summary.datasetDirectory.appendingPathComponent(row[manifest.column("mask")!])).data)
        }
        #expect(seen == maskValues, "site \(site)'s masks hold \(seen.sorted())")
        #expect(empty > 0, "slices without foreground are kept")
        #expect(d.splits.values.reduce(0) { $0 + $1.emptySlices } == empty)
    }

    /// Patient names and dates (site c keeps them in its folder names) appear in no output.
    @Test func noPatientIdentifiersInOutputs() throws {
        let out = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try MRPhantomFixture.convert("c", into: out)
        let folders = try FileManager.default.contentsOfDirectory(atPath: MRPhantomFixture.input("c").path).filter { $0.contains("_") }
        var identifiers = Set<String>()
        for folder in folders {
            for part in folder.split(separator: "_") where part.count >= 3 { identifiers.insert(String(part)) }
            let dates = try FileManager.default.contentsOfDirectory(atPath: MRPhantomFixture.input("c").appendingPathComponent(folder).path)
            identifiers.formUnion(dates)
        }
        #expect(identifiers.count >= 12)
        for relative in MRPhantomFixture.files(under: summary.datasetDirectory) where !relative.hasSuffix(".npy") {
            let text = try String(contentsOf: summary.datasetDirectory.appendingPathComponent(relative), encoding: .utf8)
            for identifier in identifiers { #expect(!text.contains(identifier), "\(identifier) in \(relative)") }
        }
    }
}

@Suite struct MRPhantomTests {
    /// The same seed writes the same bytes; another seed writes other subjects.
    @Test func deterministicFromTheSeed() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let site = MRPhantomSite.named("b")!
        _ = try MRPhantomExporter.export(site: site, to: folder.appendingPathComponent("one"), subjects: 3, seed: 5, faults: false, workers: 2, progress: .off)
        _ = try MRPhantomExporter.export(site: site, to: folder.appendingPathComponent("two"), subjects: 3, seed: 5, faults: false, workers: 1, progress: .off)
        _ = try MRPhantomExporter.export(site: site, to: folder.appendingPathComponent("three"), subjects: 3, seed: 6, faults: false, workers: 2, progress: .off)
        let one = try MRPhantomFixture.snapshot(folder.appendingPathComponent("one"))
        #expect(one.count == 7)
        #expect(one == (try MRPhantomFixture.snapshot(folder.appendingPathComponent("two"))))
        let three = try MRPhantomFixture.snapshot(folder.appendingPathComponent("three"))
        #expect(three.keys.sorted() == one.keys.sorted())
        #expect(three.filter { $0.key.hasSuffix(".nii.gz") }.allSatisfy { one[$0.key] != $0.value })
    }

    /// Stored orientations differ per site (flipped, permuted, oblique), subjects differ in
    /// size, position and rotation, and the two sequences differ in contrast.
    @Test func sitesDifferInGeometryAndContrast() throws {
        let expected = ["a": ["L", "P", "S"], "b": ["A", "I", "L"], "c": ["L", "I", "A"]]
        for site in MRPhantomSite.all {
            let root = MRPhantomFixture.input(site.name)
            let images = MRPhantomFixture.files(under: root).filter { $0.hasSuffix("_T1w.nii.gz") || $0.hasSuffix("_0000.nii.gz") || $0.hasSuffix("dixon_water.nii") }
                .filter { image in !["ses-7", "ses-8", "ses-9"].contains { image.contains($0) } }
            var foreground: [Int] = []
            for image in images.prefix(4) {
                let file = try NiftiFile(path: root.appendingPathComponent(image).path)
                #expect(file.header.axisCodes == expected[site.name], "\(site.name) \(image)")
                let a = file.header.affine
                let offDiagonal = [a[0, 1], a[0, 2], a[1, 0], a[1, 2], a[2, 0], a[2, 1]].map(abs).max()!
                if site.name == "a" { #expect(offDiagonal == 0 && a[0, 0] < 0 && a[1, 1] < 0, "flipped, not oblique") }
                else { #expect(offDiagonal > 0.1, "\(site.name): oblique") }
                let label = image.hasSuffix("dixon_water.nii") ? image.replacingOccurrences(of: "dixon_water.nii", with: "scapula_mask.nii.gz")
                    : image.hasPrefix("imagesTr/") ? image.replacingOccurrences(of: "imagesTr/", with: "labelsTr/").replacingOccurrences(of: "_0000", with: "")
                    : "derivatives/labels/" + image.replacingOccurrences(of: "_T1w.nii.gz", with: "_T1w_humerus.nii.gz")
                foreground.append(try NiftiFile(path: root.appendingPathComponent(label).path).readLabels().values.filter { $0 != 0 && $0 != 5 }.count)
            }
            #expect(foreground.count >= 3 && Set(foreground).count == foreground.count, "\(site.name): subjects differ: \(foreground)")
        }
        // Contrast: in T1w fat is bright and muscle grey; in the Dixon water image the reverse.
        let t1 = MRShoulderSubject.intensity(.fat, sequence: .t1) > MRShoulderSubject.intensity(.muscle, sequence: .t1)
        let water = MRShoulderSubject.intensity(.fat, sequence: .dixonWater) < MRShoulderSubject.intensity(.muscle, sequence: .dixonWater)
        #expect(t1 && water)
    }
}
