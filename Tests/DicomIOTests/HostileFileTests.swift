import ArrayFiles
import DicomIO
import Foundation
import Testing
import TestSupport

/// Hostile DICOM files (Tests/Oracles/hostile_corpus.py crafts them with pydicom, and with
/// raw byte edits where pydicom refuses) each fail with one clear line, at the stage the
/// corpus names, without crashing the test process: huge or overflowing sizes, fields out of
/// range, short payloads, garbage JPEG and RLE streams, deep nesting, lying lengths.
@Suite struct HostileDicomTests {
    /// The corpus, generated once per test run into a temporary folder.
    static let corpus: Result<(folder: URL, entries: [HostileCorpus.Entry]), Error> = Result {
        let folder = TestPaths.temporaryDirectory("medcil-hostile-dicom")
        return (folder, try HostileCorpus.generate(into: folder))
    }

    /// Opens, checks and decodes every frame; returns where it failed and why.
    static func outcome(_ path: String, limits: DicomLimits = .standard) -> (stage: String, error: DicomError?) {
        let file: DicomFile
        do { file = try DicomFile(path: path) } catch { return ("open", error) }
        do {
            let decoder = try FrameDecoder(file: file, limits: limits)
            for frame in 0..<decoder.frameCount { _ = try decoder.decode(frame: frame) }
        } catch {
            return ("decode", error)
        }
        return ("none", nil)
    }

    static func check(_ name: String, path: String, expect: String, stage: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let (failedAt, error) = outcome(path)
        guard let error else {
            Issue.record("\(name): read without an error", sourceLocation: sourceLocation)
            return
        }
        let line = error.description
        #expect(!line.isEmpty && !line.contains("\n"), "\(name): \(line)", sourceLocation: sourceLocation)
        #expect(expect.isEmpty || line.contains(expect), "\(name): '\(line)' does not say '\(expect)'", sourceLocation: sourceLocation)
        if stage == "open" || stage == "decode" {
            #expect(failedAt == stage, "\(name) failed at \(failedAt), not \(stage): \(line)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyHostileFileGivesOneClearLine() throws {
        let (folder, entries) = try Self.corpus.get()
        let dicom = entries.filter { $0.kind == "dicom" }
        #expect(dicom.count >= 30)
        for entry in dicom {
            Self.check(entry.file, path: folder.appendingPathComponent(entry.file).path, expect: entry.expect, stage: entry.stage)
        }
    }

    /// The file from the issue: 65535 x 65535 pixels x 3 samples x 100000 frames in 1 KB.
    /// Before the checked sizes, this trapped in FrameDecoder ("Not enough bits to represent
    /// the passed value") and took the process with it.
    @Test func theIssueFileNamesTheLimit() throws {
        let (folder, _) = try Self.corpus.get()
        let (stage, error) = Self.outcome(folder.appendingPathComponent("dicom/issue-us-65535x65535x100000x3.dcm").path)
        #expect(stage == "decode")
        #expect(error == .limitExceeded("Rows 65535 x Columns 65535 is more pixels per frame than the limit max_pixels_per_frame = 16777216"))
    }

    /// Files fuzzing found, kept as regression files (fixtures/hostile/dicom).
    @Test(arguments: [
        // DCMTK reserves an element's declared length (here 1.5 GB) before finding the file
        // too short; the reservation is never touched and the file fails to open.
        ("dcmtk-oversized-element.dcm", "unreadable DICOM"),
        // An RLE header whose first segment starts 2 GB into a 96-byte fragment: DCMTK's RLE
        // decoder read there (signal 11) until the shim checked the offsets.
        ("dcmtk-rle-offset-past-end.dcm", "RLE segment 1 starts at byte 2147483632, outside the 96-byte fragment"),
    ])
    func fuzzingRegressions(name: String, expect: String) throws {
        let path = try HostileCorpus.regressionFile("dicom/\(name)")
        Self.check(name, path: path, expect: expect, stage: "open-or-decode")
    }

    /// Limits come from a config (snake_case keys; missing keys keep their defaults; a
    /// misspelt key is an error), and a file beyond one fails with the limit's name.
    @Test func limitsAreConfigurable() throws {
        let limits = try JSONDecoder().decode(DicomLimits.self, from: Data(#"{"max_frames": 1}"#.utf8))
        #expect(limits == DicomLimits(maxFrames: 1, maxPixelsPerFrame: DicomLimits.standard.maxPixelsPerFrame))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(DicomLimits.self, from: Data(#"{"max_frame": 1}"#.utf8)) }

        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("two-frames.dcm")
        try SyntheticDicom.write(to: url, rows: 8, columns: 8, frames: 2, colour: false, syntax: .explicitVRLittleEndian)
        #expect(Self.outcome(url.path).error == nil)
        #expect(Self.outcome(url.path, limits: limits).error
            == .limitExceeded("NumberOfFrames 2 is more than the limit max_frames = 1"))
        let fewPixels = DicomLimits(maxFrames: 10, maxPixelsPerFrame: 63)
        #expect(Self.outcome(url.path, limits: fewPixels).error
            == .limitExceeded("Rows 8 x Columns 8 is more pixels per frame than the limit max_pixels_per_frame = 63"))
    }

    /// Size arithmetic on header values reports overflow instead of trapping.
    @Test func checkedSizes() {
        #expect(CheckedSize.product(65535, 65535, 3, 100_000) == 1_288_450_867_500_000)
        #expect(CheckedSize.product([Int](repeating: 32767, count: 7)) == nil)   // 32767^7 > 2^63
        #expect(CheckedSize.product(Int.max, 2) == nil)
        #expect(CheckedSize.product(-1, 5) == nil)
        #expect(CheckedSize.product([Int]()) == 1)
        #expect(CheckedSize.sum(Int.max, 1) == nil)
        #expect(CheckedSize.sum(40, 2) == 42)
    }
}
