import Foundation
import Testing
import TestSupport

/// The `medcil` executable built with the tests (beside the test runner, whatever the build
/// folder), else the one scripts/test.sh builds.
enum MRBinary {
    static func medcil() throws -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("medcil").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return try Binary.medcil()
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(try medcil(), arguments, cwd: TestPaths.root)
    }
}

@Suite(.serialized) struct MRCommandTests {
    @Test(arguments: [["nifti"], ["nifti", "info"], ["nifti", "voxels"], ["convert", "mr"], ["phantom", "mr"], ["bench", "convert-mr"]])
    func helpIsUseful(_ path: [String]) throws {
        let result = try MRBinary.run(path + ["--help"])
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE: medcil"))
        #expect(result.output.count > 300, "\(path): \(result.output)")
    }

    @Test func niftiInfoTextAndJSON() throws {
        let file = try TestPaths.testData("nibabel/nibabel/tests/data/functional.nii").path
        let text = try MRBinary.run(["nifti", "info", file])
        #expect(text.status == 0)
        for fragment in ["NIfTI-1, little endian", "17 x 21 x 3 x 20", "int16 (code 4", "scl_slope 0.075407", "qform_code:     2",
                         "sform_code:     2", "Axis codes:     LAS", "Canonical:      17 x 21 x 3 x 20, RAS"] {
            #expect(text.output.contains(fragment), "\(fragment) in\n\(text.output)")
        }
        let json = try MRBinary.run(["nifti", "info", try TestPaths.testData("nibabel/nibabel/tests/data/example_nifti2.nii.gz").path, "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let header = try #require(object["header"] as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect(header["axisCodes"] as? [String] == ["L", "A", "S"])
        #expect((header["extensions"] as? [Any])?.count == 2)
        #expect((object["canonical"] as? [String: Any])?["shape"] as? [Int] == [32, 20, 12, 2])
    }

    /// `nifti voxels` writes what nibabel reads (its own oracle compares the arrays).
    @Test(arguments: [false, true])
    func niftiVoxelsMatchNibabel(canonical: Bool) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try TestPaths.testData("nibabel/nibabel/tests/data/anatomical.nii").path
        let ours = folder.appendingPathComponent("ours.npy").path, theirs = folder.appendingPathComponent("theirs.npy").path
        let result = try MRBinary.run(["nifti", "voxels", file, "--out", ours] + (canonical ? ["--canonical"] : []))
        #expect(result.status == 0 && result.output.contains("33x41x25 float32, axes \(canonical ? "RAS" : "LAS")"), "\(result.output)")
        _ = try runOracle("nibabel_voxels.py", (canonical ? ["--canonical"] : []) + [file, theirs])
        #expect(try Data(contentsOf: URL(fileURLWithPath: ours)) == Data(contentsOf: URL(fileURLWithPath: theirs)), "byte-identical .npy")
    }

    @Test func brokenFilesFailWithOneLine() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("x.nii")
        try Data("not a volume".utf8).write(to: text)
        let info = try MRBinary.run(["nifti", "info", text.path])
        #expect(info.status == 1 && info.output.contains("x.nii: unreadable NIfTI: not a NIfTI-1 or NIfTI-2 file"))
        #expect(info.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)
    }

    /// The main MR job as a user runs it: phantom sites, then each converter; --strict turns
    /// site a's broken files into exit status 2; a typo in a converter is a clear error.
    @Test func phantomThenConvert() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let exports = folder.appendingPathComponent("exports").path, shards = folder.appendingPathComponent("shards").path
        let made = try MRBinary.run(["phantom", "mr", "--out", exports, "--subjects", "3", "--seed", "3", "--progress", "off"])
        #expect(made.status == 0 && made.output.contains("site c: 3 volumes of 3 subjects"), "\(made.output)")
        for site in ["a", "b", "c"] {
            let result = try MRBinary.run(["convert", "mr", "--config", "converters/phantom-mr-\(site).yaml", "--input", "\(exports)/site-\(site)",
                                           "--out", shards, "--progress", "off"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("site phantom-mr-\(site) -> phantom-mr-\(site)"))
        }
        let strict = try MRBinary.run(["convert", "mr", "--config", "converters/phantom-mr-a.yaml", "--input", "\(exports)/site-a",
                                       "--out", shards, "--progress", "off", "--strict", "--size", "64x64", "--spacing", "3x3"])
        #expect(strict.status == 2 && strict.output.contains("4D volume"), "\(strict.output)")
        let resolved = try String(contentsOfFile: "\(shards)/phantom-mr-a/config.resolved.yaml", encoding: .utf8)
        #expect(resolved.contains("- 64") && resolved.contains("- 3e+0"), "command line overrides the converter")
        let typo = folder.appendingPathComponent("typo.yaml")
        let original = try String(contentsOfFile: TestPaths.converters.appendingPathComponent("phantom-mr-b.yaml").path, encoding: .utf8)
        try (original.replacingOccurrences(of: "slice_axis:", with: "slice_axes:")
            .replacingOccurrences(of: "taxonomy/shoulder", with: TestPaths.converters.path + "/taxonomy/shoulder")).write(to: typo, atomically: true, encoding: .utf8)
        let bad = try MRBinary.run(["convert", "mr", "--config", typo.path, "--input", "\(exports)/site-b", "--out", shards])
        #expect(bad.status == 1 && bad.output.contains("unknown key 'slice_axes' in geometry"), "\(bad.output)")
        let unknown = try MRBinary.run(["phantom", "mr", "--out", exports, "--sites", "q"])
        #expect(unknown.status != 0 && unknown.output.contains("unknown site"))
    }
}
