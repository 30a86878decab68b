import Foundation
import Testing
import TestSupport

/// The `medcil` executable as a user runs it (built by scripts/test.sh before the tests).
enum Binary {
    static func medcil() throws -> String {
        for configuration in ["release", "debug"] {
            let path = TestPaths.root.appendingPathComponent(".build/\(configuration)/medcil").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestSupportError("medcil is not built: run `swift build -c release --product medcil` (scripts/test.sh does)")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(try medcil(), arguments, cwd: TestPaths.root)
    }
}

@Suite struct CLITests {
    /// Every command's help names what it does and its options.
    @Test(arguments: [[], ["convert", "echo"], ["labels", "check"], ["phantom", "echo"], ["dicom", "info"], ["dicom", "frames"],
                      ["bench", "convert"], ["demo"], ["cil", "run"], ["cil", "synthesize"], ["bench", "synthesis"]])
    func helpIsUseful(_ path: [String]) throws {
        let result = try Binary.run(path + ["--help"])
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE: medcil"))
        #expect(result.output.count > 300, "\(path): \(result.output)")
    }

    @Test func enumOptionsListTheirValues() throws {
        let help = try Binary.run(["convert", "echo", "--help"]).output
        #expect(help.contains("files, packed") && help.contains("error, skip"))
        #expect(try Binary.run(["convert", "echo", "--help"]).output.contains("auto, bar, lines, off"))
    }

    @Test func argumentErrorsAreCaught() throws {
        let bad = try Binary.run(["convert", "echo", "--config", "x.yaml", "--input", "i", "--out", "o", "--size", "12"])
        #expect(bad.status != 0 && bad.output.contains("--size"))
        let phantom = try Binary.run(["phantom", "echo", "--out", "/tmp/x", "--sites", "q"])
        #expect(phantom.status != 0 && phantom.output.contains("unknown site"))
    }

    @Test func labelsCheckFindsUnmappedLabels() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let made = try Binary.run(["phantom", "echo", "--out", folder.path, "--sites", "c", "--per-view", "1", "--progress", "off"])
        #expect(made.status == 0, "\(made.output)")
        let check = try Binary.run(["labels", "check", "converters/phantom-echo-c.yaml", "--input", folder.appendingPathComponent("site-c").path])
        #expect(check.status == 1)
        #expect(check.output.contains("Unsorted") && check.output.contains("UNMAPPED"))
        #expect(check.output.contains("Apical 4 Chamber") && check.output.contains("A4C"))
        let table = try Binary.run(["labels", "check", "converters/phantom-echo-a.yaml"])
        #expect(table.status == 0 && table.output.contains("PW Doppler") && table.output.contains("IGNORE"))
    }

    @Test func dicomInfoAndFrames() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try TestPaths.pydicomDataFile("gdcm-US-ALOKA-16.dcm").path
        let info = try Binary.run(["dicom", "info", file])
        #expect(info.status == 0 && info.output.contains("PALETTE COLOR") && info.output.contains("Ultrasound regions:   3"))
        let json = try Binary.run(["dicom", "info", file, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["ultrasoundRegions"] as? [Any])?.count == 3)
        let out = folder.appendingPathComponent("f.npy").path
        let frames = try Binary.run(["dicom", "frames", file, "--out", out])
        #expect(frames.status == 0 && frames.output.contains("1x480x640x3 uint16"))
        let broken = try Binary.run(["dicom", "frames", try TestPaths.pydicomFile("JPEG2000.dcm").path, "--out", out])
        #expect(broken.status != 0 && broken.output.contains("JPEG 2000"))
    }
}
