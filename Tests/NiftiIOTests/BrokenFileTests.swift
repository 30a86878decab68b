import Foundation
import NiftiIO
import Testing
import TestSupport

/// Broken and unsupported files fail with one line that says why.
@Suite struct BrokenFileTests {
    static func noise(_ count: Int) -> [Int16] {
        var state: UInt32 = 12345
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Int16(truncatingIfNeeded: state >> 16)
        }
    }

    static func expectOneLine(_ error: NiftiError, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error.description.contains(text), "\(error)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    }

    static func error(_ body: () throws -> Void) -> NiftiError? {
        do { try body() } catch let error as NiftiError { return error } catch { return nil }
        return nil
    }

    @Test func truncatedGzipVolume() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.nii.gz")
        try NiftiWriter.write(.int16(Self.noise(40 * 40 * 20)), shape: [40, 40, 20], affine: .identity, to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count * 6 / 10).write(to: url)
        let file = try NiftiFile(path: url.path)   // the header is intact
        let failure = try #require(Self.error { _ = try file.readImage() })
        Self.expectOneLine(failure, contains: "gzip stream ends early or is corrupt")
        // Cut inside the header: opening fails.
        try bytes.prefix(100).write(to: url)
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: url.path) }), contains: "the file ends inside the 348-byte header")
    }

    @Test func truncatedUncompressedVolume() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.nii")
        try NiftiWriter.write(.int16(Self.noise(10 * 10 * 10)), shape: [10, 10, 10], affine: .identity, to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(1000).write(to: url)
        let failure = try #require(Self.error { _ = try NiftiFile(path: url.path).readImage() })
        Self.expectOneLine(failure, contains: "truncated: the file has 1000 bytes, the header needs 2352")
    }

    @Test(arguments: [(32, 8, "COMPLEX64"), (128, 3, "RGB24"), (1024, 8, "INT64")])
    func unsupportedDatatypesAreNamed(code: Int, bytes: Int, name: String) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("u.nii.gz")
        try NiftiWriter.write(.raw(datatype: code, bytesPerVoxel: bytes, data: Data(count: 27 * bytes)), shape: [3, 3, 3], affine: .identity, to: url)
        let file = try NiftiFile(path: url.path)
        #expect(file.header.datatypeName == name)
        let image = try #require(Self.error { _ = try file.readImage() })
        #expect(image == .unsupportedDatatype(code: code, name: name))
        Self.expectOneLine(image, contains: "unsupported NIfTI datatype \(name) (code \(code))")
        #expect(Self.error { _ = try file.readLabels() } == .unsupportedDatatype(code: code, name: name))
    }

    @Test func notNiftiAndAnalyze() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.nii")
        try Data("a text file, not a volume".utf8).write(to: text)
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: text.path) }), contains: "not a NIfTI-1 or NIfTI-2 file")
        // A NIfTI-1 header with its magic wiped is an ANALYZE 7.5 header.
        let analyze = folder.appendingPathComponent("a.nii")
        try NiftiWriter.write(.uint8([UInt8](repeating: 3, count: 8)), shape: [2, 2, 2], affine: .identity, to: analyze)
        var bytes = try Data(contentsOf: analyze)
        bytes.replaceSubrange(344..<348, with: [0, 0, 0, 0])
        try bytes.write(to: analyze)
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: analyze.path) }), contains: "no NIfTI magic")
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: folder.appendingPathComponent("x.hdr").path) }),
                           contains: "only single-file NIfTI")
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: folder.appendingPathComponent("missing.nii").path) }),
                           contains: "no such file")
    }

    @Test func fractionalLabelsAreRefused() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("l.nii.gz")
        var values = [Float](repeating: 1, count: 8)
        values[5] = 0.5
        try NiftiWriter.write(.float32(values), shape: [2, 2, 2], affine: .identity, to: url)
        Self.expectOneLine(try #require(Self.error { _ = try NiftiFile(path: url.path).readLabels() }),
                           contains: "voxel (1, 0, 1) holds 0.5")
        values[5] = 2
        try NiftiWriter.write(.float32(values), shape: [2, 2, 2], affine: .identity, to: url)
        #expect(try NiftiFile(path: url.path).readLabels().values == [1, 1, 1, 1, 1, 2, 1, 1])
    }

    @Test func validSlopeWithInvalidInterceptIsRefused() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("s.nii")
        var options = NiftiWriter.Options()
        options.slope = 2
        options.intercept = .nan
        try NiftiWriter.write(.int16([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2], affine: .identity, to: url, options: options)
        let file = try NiftiFile(path: url.path)
        #expect(file.header.scaling == nil)
        Self.expectOneLine(try #require(Self.error { _ = try file.readImage() }), contains: "scl_slope is 2.0 but scl_inter is nan")
        #expect(try file.readLabels().values == [1, 2, 3, 4, 5, 6, 7, 8], "labels are never scaled")
    }

    /// Slope 0 or NaN means no scaling (NIfTI's rule, and nibabel's).
    @Test(arguments: [0.0, Double.nan])
    func zeroOrNaNSlopeMeansNoScaling(slope: Double) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("s.nii")
        var options = NiftiWriter.Options()
        options.slope = slope
        options.intercept = 100
        try NiftiWriter.write(.int16([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 2], affine: .identity, to: url, options: options)
        #expect(try NiftiFile(path: url.path).readImage().values == [1, 2, 3, 4, 5, 6, 7, 8])
    }
}
