import ArrayFiles
import DicomIO
import Foundation
import Testing
import TestSupport

/// Decoded frames against pydicom 3 (+ Pillow, pylibjpeg, pyjpegls) on the real files of the
/// pydicom and pydicom-data wheels: exactly equal for lossless syntaxes, within 2 grey levels
/// for lossy JPEG (DCMTK's IJG decoder and libjpeg-turbo round differently).
struct ReferenceCase: CustomStringConvertible, Sendable {
    enum Wheel: Sendable { case pydicom, pydicomData }
    let file: String
    let wheel: Wheel
    let tolerance: Int
    /// The file pydicom decodes as the reference, when it is not `file` itself.
    let reference: String?

    init(_ file: String, _ wheel: Wheel, tolerance: Int = 0, reference: String? = nil) {
        self.file = file
        self.wheel = wheel
        self.tolerance = tolerance
        self.reference = reference
    }

    var description: String { file }

    func url(_ name: String) throws -> URL {
        wheel == .pydicom ? try TestPaths.pydicomFile(name) : try TestPaths.pydicomDataFile(name)
    }
}

let referenceCases: [ReferenceCase] = [
    // Echo and ultrasound cines.
    .init("color3d_jpeg_baseline.dcm", .pydicomData, tolerance: 2),   // 120-frame JPEG Baseline YBR_FULL_422, empty offset table
    .init("examples_ybr_color.dcm", .pydicom, tolerance: 2),          // 30-frame JPEG Baseline echo
    .init("US1_UNCR.dcm", .pydicomData), .init("US1_UNCI.dcm", .pydicomData),
    .init("gdcm-US-ALOKA-16.dcm", .pydicomData),                      // PALETTE COLOR, 16-bit LUT, 3 regions
    .init("gdcm-US-ALOKA-16_big.dcm", .pydicomData),
    .init("OBXXXX1A.dcm", .pydicomData), .init("OBXXXX1A_2frame.dcm", .pydicomData),
    .init("OBXXXX1A_rle.dcm", .pydicomData), .init("OBXXXX1A_rle_2frame.dcm", .pydicomData),
    // pydicom applies a big-endian file's 16-bit palette with swapped bytes; its little-endian
    // twin holds the same pixels and palette.
    .init("OBXXXX1A_expb.dcm", .pydicomData, reference: "OBXXXX1A.dcm"),
    .init("OBXXXX1A_expb_2frame.dcm", .pydicomData, reference: "OBXXXX1A_2frame.dcm"),
    .init("examples_palette.dcm", .pydicom), .init("examples_rgb_color.dcm", .pydicom),
    // Colour layouts and syntaxes.
    .init("SC_rgb.dcm", .pydicomData), .init("SC_rgb_2frame.dcm", .pydicomData), .init("SC_rgb_expb_2frame.dcm", .pydicomData),
    .init("SC_rgb_16bit_2frame.dcm", .pydicomData), .init("SC_rgb_expb_16bit_2frame.dcm", .pydicomData),
    .init("SC_rgb_rle_2frame.dcm", .pydicom), .init("SC_rgb_rle_16bit_2frame.dcm", .pydicom),
    .init("SC_rgb_small_odd.dcm", .pydicom), .init("SC_rgb_small_odd_big_endian.dcm", .pydicom),
    .init("SC_ybr_full_uncompressed.dcm", .pydicomData), .init("SC_ybr_full_422_uncompressed.dcm", .pydicom),
    .init("color-pl.dcm", .pydicomData), .init("color-px.dcm", .pydicomData),
    .init("image_dfl.dcm", .pydicom),                                  // deflated explicit little endian
    .init("SC_rgb_jpeg_dcmtk.dcm", .pydicom, tolerance: 2), .init("SC_rgb_small_odd_jpeg.dcm", .pydicom, tolerance: 2),
    .init("SC_jpeg_no_color_transform.dcm", .pydicom, tolerance: 2), .init("SC_rgb_jpeg_gdcm.dcm", .pydicom, tolerance: 2),
    .init("SC_rgb_dcmtk_+eb+cy+s2.dcm", .pydicom, tolerance: 2), .init("SC_rgb_dcmtk_+eb+cy+np.dcm", .pydicom, tolerance: 2),
    .init("JPGExtended.dcm", .pydicom, tolerance: 2),
    .init("JPGLosslessP14SV1_1s_1f_8b.dcm", .pydicomData), .init("JPEG-LL.dcm", .pydicomData),
    .init("MR_small_jpeg_ls_lossless.dcm", .pydicom), .init("emri_small_jpeg_ls_lossless.dcm", .pydicomData),
    .init("JPEGLSNearLossless_08.dcm", .pydicom), .init("SC_rgb_jls_lossy_sample.dcm", .pydicom),
    // Grey, signed, big endian, RLE.
    .init("CT_small.dcm", .pydicom), .init("MR_small_RLE.dcm", .pydicom), .init("MR_small_bigendian.dcm", .pydicom),
    .init("MR_small_implicit.dcm", .pydicom), .init("emri_small_big_endian.dcm", .pydicomData), .init("RG1_UNCR.dcm", .pydicomData),
]

/// Decodes every frame of `url` into `[frames, rows, columns, samples]` as `medcil dicom frames` does.
func decodeAll(_ url: URL) throws -> NpyArray {
    let decoder = try FrameDecoder(file: DicomFile(path: url.path))
    var data = Data(count: decoder.frameCount * decoder.outputFrameBytes)
    try data.withUnsafeMutableBytes { raw in
        for frame in 0..<decoder.frameCount {
            let slice = UnsafeMutableRawBufferPointer(rebasing: raw[(frame * decoder.outputFrameBytes)..<((frame + 1) * decoder.outputFrameBytes)])
            try decoder.decode(frame: frame, into: slice)
        }
    }
    return try NpyArray(dtype: decoder.outputType, shape: [decoder.frameCount, decoder.rows, decoder.columns, decoder.outputSamples], data: data)
}

func maxAbsDifference(_ a: NpyArray, _ b: NpyArray) -> Float {
    zip(a.floatValues(), b.floatValues()).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite struct FrameDecodingTests {
    @Test(arguments: referenceCases)
    func framesEqualPydicom(_ test: ReferenceCase) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ours = try decodeAll(try test.url(test.file))
        let referenceURL = folder.appendingPathComponent("reference.npy")
        try runOracle("pydicom_frames.py", ["save", try test.url(test.reference ?? test.file).path, referenceURL.path])
        let reference = try NpyArray.read(from: referenceURL)
        #expect(ours.shape == reference.shape)
        guard ours.shape == reference.shape else { return }
        #expect(ours.dtype.size == reference.dtype.size, "dtype \(ours.dtype) vs pydicom \(reference.dtype)")
        #expect(maxAbsDifference(ours, reference) <= Float(test.tolerance))
    }

    /// 12-bit JPEG Extended has no Pillow decoder: DCMTK's own dcmdjpeg decompresses it to an
    /// uncompressed file that pydicom then reads. The same holds for DCMTK's RLE and JPEG-LS
    /// tools on 16-bit data.
    @Test(arguments: [("JPEG-lossy.dcm", "dcmdjpeg"), ("MR_small_RLE.dcm", "dcmdrle"), ("MR_small_jpeg_ls_lossless.dcm", "dcmdjpls")])
    func framesEqualDCMTKTools(file: String, tool: String) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = try TestPaths.pydicomFile(file)
        let native = folder.appendingPathComponent("native.dcm")
        let run = try runProcess(tool, [source.path, native.path])
        #expect(run.status == 0, "\(tool): \(run.output)")
        let ours = try decodeAll(source)
        let theirs = try decodeAll(native)
        #expect(ours == theirs)
        let referenceURL = folder.appendingPathComponent("reference.npy")
        try runOracle("pydicom_frames.py", ["save", native.path, referenceURL.path])
        let reference = try NpyArray.read(from: referenceURL)
        #expect(ours.shape == reference.shape && maxAbsDifference(ours, reference) == 0)
    }

    /// Frames decoded out of order give the same pixels as in order (the fragment map finds
    /// each frame of a cine with an empty Basic Offset Table on its own).
    @Test func randomAccessMatchesSequential() throws {
        let url = try TestPaths.pydicomDataFile("color3d_jpeg_baseline.dcm")
        let decoder = try FrameDecoder(file: DicomFile(path: url.path))
        let reversed = try [119, 60, 3, 0].map { try decoder.decode(frame: $0) }
        let fresh = try FrameDecoder(file: DicomFile(path: url.path))
        let ordered = try [0, 3, 60, 119].map { try fresh.decode(frame: $0) }
        #expect(reversed == Array(ordered.reversed()))
    }
}

@Suite struct BrokenInputTests {
    @Test func truncatedFileIsUnreadable() throws {
        let url = try TestPaths.pydicomFile("MR_truncated.dcm")
        #expect {
            let decoder = try FrameDecoder(file: DicomFile(path: url.path))
            _ = try decoder.decode(frame: 0)
        } throws: { error in
            guard let error = error as? DicomError else { return false }
            switch error {
            case .unreadable, .decodeFailed, .badPixelModule: return true
            default: return false
            }
        }
    }

    @Test(arguments: ["JPEG2000.dcm", "MR_small_jp2klossless.dcm"])
    func jpeg2000NamesTheSyntax(_ name: String) throws {
        let url = try TestPaths.pydicomFile(name)
        #expect {
            _ = try FrameDecoder(file: DicomFile(path: url.path))
        } throws: { error in
            guard case DicomError.unsupportedTransferSyntax(let uid, let syntax) = error else { return false }
            let line = (error as! DicomError).description
            return uid.hasPrefix("1.2.840.10008.1.2.4.9") && syntax.contains("JPEG 2000") && line.contains("JPEG 2000") && !line.contains("\n")
        }
    }

    @Test func textFileIsNotDicom() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("notes.dcm")
        try Data("These are not pixels.\n".utf8).write(to: url)
        #expect(throws: DicomError.self) { _ = try DicomFile(path: url.path) }
        let empty = folder.appendingPathComponent("empty.dcm")
        try Data().write(to: empty)
        #expect(throws: DicomError.notDicom("the file is empty")) { _ = try DicomFile(path: empty.path) }
    }

    @Test func noPixelData() throws {
        let url = try TestPaths.pydicomFile("rtplan.dcm")
        #expect(throws: DicomError.noPixelData) { _ = try FrameDecoder(file: DicomFile(path: url.path)) }
    }

    @Test func numberOfFramesBeyondTheData() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("frames.dcm")
        try SyntheticDicom.write(to: url, rows: 8, columns: 10, frames: 2, colour: false, syntax: .explicitVRLittleEndian, declaredFrames: 4)
        #expect {
            _ = try FrameDecoder(file: DicomFile(path: url.path))
        } throws: { error in
            (error as? DicomError)?.description.contains("NumberOfFrames is 4 but the pixel data holds 2 frames") == true
        }
    }

    @Test func badNumberOfFramesValue() throws {
        let url = try TestPaths.pydicomFile("badVR.dcm")
        #expect(throws: DicomError.self) { _ = try FrameDecoder(file: DicomFile(path: url.path)) }
    }
}
