import ArrayFiles
import Foundation
import NiftiIO
import Testing
import TestSupport

/// Hostile NIfTI files (Tests/Oracles/hostile_corpus.py crafts them with nibabel and raw
/// header edits) each fail with one clear line at the stage the corpus names: headers that
/// ask for terabytes or overflow 64 bits, bad dims, bogus datatypes, offsets past the end or
/// not numbers, truncated and garbage gzip streams, NaN geometry.
@Suite struct HostileNiftiTests {
    /// The corpus, generated once per test run into a temporary folder.
    static let corpus: Result<(folder: URL, entries: [HostileCorpus.Entry]), Error> = Result {
        let folder = TestPaths.temporaryDirectory("medcil-hostile-nifti")
        return (folder, try HostileCorpus.generate(into: folder))
    }

    /// Opens, finds the orientation, reads the voxels as image and as labels; returns where it
    /// failed and why.
    static func outcome(_ path: String, limits: NiftiLimits = .standard) -> (stage: String, error: NiftiError?) {
        let file: NiftiFile
        do { file = try NiftiFile(path: path, limits: limits) } catch { return ("open", error) }
        do { _ = try AxisOrientation(affine: file.header.affine) } catch { return ("orientation", error) }
        do {
            _ = try file.readImage()
            _ = try file.readLabels()
        } catch {
            return ("decode", error)
        }
        return ("none", nil)
    }

    @Test func everyHostileFileGivesOneClearLine() throws {
        let (folder, entries) = try Self.corpus.get()
        let nifti = entries.filter { $0.kind == "nifti" }
        #expect(nifti.count >= 20)
        for entry in nifti {
            let (stage, error) = Self.outcome(folder.appendingPathComponent(entry.file).path)
            if entry.stage == "reads" || entry.stage == "convert" {
                // Oddities a reader may accept (libnifti and nibabel both do), and files that
                // only a conversion can refuse: they must read.
                #expect(error == nil, "\(entry.file): \(error.map(String.init(describing:)) ?? "")")
                continue
            }
            guard let error else {
                Issue.record("\(entry.file): read without an error")
                continue
            }
            let line = error.description
            #expect(!line.isEmpty && !line.contains("\n"), "\(entry.file): \(line)")
            #expect(entry.expect.isEmpty || line.contains(entry.expect), "\(entry.file): '\(line)' does not say '\(entry.expect)'")
            if entry.stage != "open-or-decode" {
                #expect(stage == entry.stage, "\(entry.file) failed at \(stage), not \(entry.stage): \(line)")
            }
        }
    }

    /// The issue's files: 30000^3 float32 (108 TB; it aborted allocating) and a 7-D header
    /// with every dim 32767 (it trapped on overflow), plain and gzipped.
    @Test func theIssueFilesNameTheLimit() throws {
        let (folder, _) = try Self.corpus.get()
        for name in ["cube-30000-float32.nii", "cube-30000-float32.nii.gz"] {
            #expect(Self.outcome(folder.appendingPathComponent("nifti/\(name)").path).error == .limitExceeded(
                "the shape [30000, 30000, 30000] of float32 is 108000000000000 bytes, more than the limit max_bytes_per_volume = 4294967296"))
        }
        for name in ["dims7-32767.nii", "dims7-32767.nii.gz"] {
            #expect(Self.outcome(folder.appendingPathComponent("nifti/\(name)").path).error == .limitExceeded(
                "the shape [32767, 32767, 32767, 32767, 32767, 32767, 32767] of int16 overflows 64-bit sizes"))
        }
    }

    /// A gzip stream holding more than its header implies is read up to that size and no
    /// further (the rest is ignored, as nibabel does); a stream holding less fails.
    @Test func gzipStreamIsReadUpToTheHeaderSize() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("v.nii")
        let values: [Int16] = (0..<120).map { k in Int16(k * 3 - 100) }
        try NiftiWriter.write(.int16(values), shape: [6, 5, 4], affine: .identity, to: plain)
        // The header's volume, then 8 MiB more in the same gzip stream.
        let longer = try Data(contentsOf: plain) + Data(repeating: 0x7F, count: 8 << 20)
        let gz = folder.appendingPathComponent("v.nii.gz")
        try longer.write(to: folder.appendingPathComponent("v-long.nii"))
        let compress = try runProcess("sh", ["-c", "gzip -n -c '\(folder.appendingPathComponent("v-long.nii").path)' > '\(gz.path)'"])
        #expect(compress.status == 0)
        let image = try NiftiFile(path: gz.path).readImage()
        #expect(image.values == values.map { Float($0) })
        #expect(image.shape == [6, 5, 4])
    }

    /// Files fuzzing found, kept as regression files (fixtures/hostile/nifti).
    @Test(arguments: [
        // A gzip stream corrupt in the middle of the voxels: znzread returned gzread's -1 as a
        // size_t, the reader took it for progress and never returned.
        ("gzip-corrupt-midstream.nii.gz", "the gzip stream ends early or is corrupt"),
        // A NIfTI-2 header whose extension claims 1.35 GB in a 780-byte file: libnifti reserves
        // it (never touched) and skips the extension; the voxel offset lies past the end.
        ("libnifti-oversized-extension.nii", "the voxel data is truncated: the file has 780 bytes"),
        // A float32 volume with a voxel of 2^31, read as labels: the range test let it through
        // (2147483647 as a Float is 2^31) and Int32(v) trapped.
        ("float-label-2pow31.nii", "a label volume must hold whole numbers that fit in int32"),
    ])
    func fuzzingRegressions(name: String, expect: String) throws {
        let path = try HostileCorpus.regressionFile("nifti/\(name)")
        let (stage, error) = Self.outcome(path)
        let line = try #require(error, "\(name) read without an error").description
        #expect(stage == "decode")
        #expect(line.contains(expect) && !line.contains("\n"), "\(name): \(line)")
    }

    /// The limit comes from a config and is named when a volume is beyond it.
    @Test func limitIsConfigurable() throws {
        let limits = try JSONDecoder().decode(NiftiLimits.self, from: Data(#"{"max_bytes_per_volume": 100}"#.utf8))
        #expect(limits == NiftiLimits(maxBytesPerVolume: 100))
        #expect(try JSONDecoder().decode(NiftiLimits.self, from: Data("{}".utf8)) == .standard)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(NiftiLimits.self, from: Data(#"{"max_bytes": 1}"#.utf8)) }

        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("v.nii.gz")
        try NiftiWriter.write(.int16([Int16](repeating: 5, count: 60)), shape: [5, 4, 3], affine: .identity, to: url)
        #expect(Self.outcome(url.path).error == nil)
        #expect(Self.outcome(url.path, limits: limits).error
            == .limitExceeded("the shape [5, 4, 3] of int16 is 120 bytes, more than the limit max_bytes_per_volume = 100"))
    }
}
