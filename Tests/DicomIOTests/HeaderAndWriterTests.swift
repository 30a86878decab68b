import ArrayFiles
@testable import DicomIO
import Foundation
import Testing
import TestSupport

/// Header facts against pydicom's reading of the same files.
@Suite struct HeaderTests {
    struct PydicomHeader: Decodable {
        struct Region: Decodable {
            var minX0: Int, minY0: Int, maxX1: Int, maxY1: Int
            var spatialFormat: Int?, dataType: Int?
            var physicalDeltaX: Double?, physicalDeltaY: Double?
            var fieldCount: Int
        }
        var transferSyntax: String?
        var rows: Int?, columns: Int?, numberOfFrames: Int?, samplesPerPixel: Int?, bitsAllocated: Int?, bitsStored: Int?
        var photometricInterpretation: String?, planarConfiguration: Int?
        var patientID: String?, studyInstanceUID: String?, seriesInstanceUID: String?, sopInstanceUID: String?
        var frameTime: Double?, cineRate: Double?, frameTimeVectorLength: Int?
        var regions: [Region]
    }

    @Test(arguments: [("gdcm-US-ALOKA-16.dcm", true), ("color3d_jpeg_baseline.dcm", true), ("US1_UNCR.dcm", true),
                      ("examples_ybr_color.dcm", false), ("SC_rgb_expb_2frame.dcm", true), ("MR_small_bigendian.dcm", false)])
    func headerEqualsPydicom(name: String, fromData: Bool) throws {
        let url = fromData ? try TestPaths.pydicomDataFile(name) : try TestPaths.pydicomFile(name)
        let expected = try JSONDecoder().decode(PydicomHeader.self, from: Data(try runOracle("pydicom_header.py", [url.path]).utf8))
        let s = DicomSummary(file: try DicomFile(path: url.path))
        if let syntax = expected.transferSyntax { #expect(s.transferSyntax.uid == syntax) }
        #expect(s.rows == expected.rows && s.columns == expected.columns)
        #expect(s.numberOfFrames == expected.numberOfFrames)
        #expect(s.samplesPerPixel == expected.samplesPerPixel)
        #expect(s.bitsAllocated == expected.bitsAllocated && s.bitsStored == expected.bitsStored)
        #expect(s.photometricInterpretation == expected.photometricInterpretation)
        #expect(s.planarConfiguration == expected.planarConfiguration)
        #expect(s.patientID == expected.patientID)
        #expect(s.studyInstanceUID == expected.studyInstanceUID)
        #expect(s.seriesInstanceUID == expected.seriesInstanceUID)
        #expect(s.sopInstanceUID == expected.sopInstanceUID)
        #expect(s.frameTiming.frameTime == expected.frameTime)
        #expect(s.frameTiming.cineRate == expected.cineRate)
        #expect(s.frameTiming.frameTimeVector?.count == expected.frameTimeVectorLength)
        #expect(s.ultrasoundRegions.count == expected.regions.count)
        for (ours, theirs) in zip(s.ultrasoundRegions, expected.regions) {
            #expect(ours.minX0 == theirs.minX0 && ours.minY0 == theirs.minY0 && ours.maxX1 == theirs.maxX1 && ours.maxY1 == theirs.maxY1)
            #expect(ours.spatialFormat == theirs.spatialFormat && ours.dataType == theirs.dataType)
            #expect(ours.physicalDeltaX == theirs.physicalDeltaX && ours.physicalDeltaY == theirs.physicalDeltaY)
            #expect(ours.fields.count == theirs.fieldCount, "all fields of the region item")
        }
    }

    /// The ALOKA file's three regions: two side-by-side 2D tissue regions and a third that is not
    /// tissue (values read with dcmdump: x 32-335 and 336-639, y 24-415).
    @Test func alokaRegions() throws {
        let s = DicomSummary(file: try DicomFile(path: try TestPaths.pydicomDataFile("gdcm-US-ALOKA-16.dcm").path))
        #expect(s.ultrasoundRegions.map(\.isTissue2D) == [true, true, false])
        #expect(s.ultrasoundRegions[0].minX0 == 32 && s.ultrasoundRegions[0].maxX1 == 335)
        #expect(s.ultrasoundRegions[1].minX0 == 336 && s.ultrasoundRegions[1].maxY1 == 415)
        #expect(s.ultrasoundRegions[0].isInside(rows: 480, columns: 640))
        #expect(!UltrasoundRegion(minX0: 10, minY0: 10, maxX1: 900, maxY1: 400).isInside(rows: 480, columns: 640))
    }

    @Test func keywordsAndTags() {
        #expect(DicomTag(keyword: "SeriesDescription") == DicomTag(0x0008, 0x103E))
        #expect(DicomTag(keyword: "SequenceOfUltrasoundRegions") == .sequenceOfUltrasoundRegions)
        #expect(DicomTag(keyword: "0018,6011") == .sequenceOfUltrasoundRegions)
        #expect(DicomTag(keyword: "(0008,103E)") == .seriesDescription)
        #expect(DicomTag(keyword: "NoSuchKeyword") == nil)
        #expect(DicomTag.patientID.keyword == "PatientID")
        #expect(DicomTag.seriesDescription.description == "(0008,103E)")
    }

    @Test func frameTimingPrefersFrameTime() {
        var timing = FrameTiming(frameTime: nil, frameTimeVector: [0, 40, 40, 40], cineRate: 30, recommendedDisplayFrameRate: nil)
        #expect(timing.framesPerSecond == 25)
        timing.frameTime = 20
        #expect(timing.framesPerSecond == 50)
        timing = FrameTiming(frameTime: nil, frameTimeVector: nil, cineRate: 30, recommendedDisplayFrameRate: nil)
        #expect(timing.framesPerSecond == 30)
    }
}

/// Files written through DCMTK in every syntax MedCIL must read, decoded back.
@Suite struct WriterRoundTripTests {
    static let syntaxes: [(TransferSyntax, Bool)] = [
        (.explicitVRLittleEndian, true), (.implicitVRLittleEndian, true), (.explicitVRBigEndian, true),
        (.deflatedExplicitVRLittleEndian, true), (.rleLossless, true), (.jpegLSLossless, true),
        (.jpegLosslessSV1, true), (.jpegBaseline, false),
    ]

    @Test(arguments: [false, true])
    func everySyntaxRoundTrips(colour: Bool) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (rows, columns, frames) = (24, 32, 3)
        let expected = SyntheticDicom.pattern(rows: rows, columns: columns, frames: frames, samples: colour ? 3 : 1)
        for (syntax, lossless) in Self.syntaxes {
            let url = folder.appendingPathComponent("\(syntax.uid).dcm")
            try SyntheticDicom.write(to: url, rows: rows, columns: columns, frames: frames, colour: colour, syntax: syntax)
            let file = try DicomFile(path: url.path)
            #expect(file.transferSyntax.uid == syntax.uid)
            let decoded = try decodeAll(url).values(as: UInt8.self)
            if lossless {
                #expect(decoded == expected, "\(syntax.name)")
            } else {
                let meanError = zip(decoded, expected).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(expected.count)
                #expect(meanError < 4, "\(syntax.name): mean error \(meanError)")
            }
            // pydicom reads the same pixels from the file DCMTK wrote.
            let reference = folder.appendingPathComponent("ref.npy")
            try runOracle("pydicom_frames.py", ["save", url.path, reference.path])
            #expect(maxAbsDifference(try decodeAll(url), try NpyArray.read(from: reference)) <= (lossless ? 0 : 2), "\(syntax.name)")
        }
    }

    @Test func planarConfigurationOne() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("planar.dcm")
        try SyntheticDicom.write(to: url, rows: 6, columns: 5, frames: 2, colour: true, syntax: .explicitVRLittleEndian, planar: true)
        #expect(try decodeAll(url).values(as: UInt8.self) == SyntheticDicom.pattern(rows: 6, columns: 5, frames: 2, samples: 3))
    }
}

@Suite struct PaletteTests {
    /// PS3.3 C.7.9.2: discrete [10, 20, 30], linear ramp of 2 to 50 -> [40, 50], indirect
    /// replay of 1 segment at word offset 0 -> [10, 20, 30]. Worked by hand.
    @Test func segmentedExpansion() throws {
        let data: [UInt16] = [0, 3, 10, 20, 30, 1, 2, 50, 2, 1, 0, 0]
        #expect(try PaletteLUT.expandSegmented(data, bits: 16) == [10, 20, 30, 40, 50, 10, 20, 30])
    }

    @Test func eightBitEntriesPackedTwoPerWord() {
        #expect(PaletteLUT.unpack(words: [0x0201, 0x0403], entries: 4, bits: 8) == [1, 2, 3, 4])
        #expect(PaletteLUT.unpack(words: [1, 2, 3, 4], entries: 4, bits: 8) == [1, 2, 3, 4])
    }

    @Test func valuesOutsideTheTableClamp() {
        let lut = PaletteLUT(firstMapped: 10, bitsPerEntry: 16, red: [1, 2, 3], green: [1, 2, 3], blue: [1, 2, 3])
        #expect(lut.entryIndex(0) == 0 && lut.entryIndex(10) == 0 && lut.entryIndex(12) == 2 && lut.entryIndex(99) == 2)
    }
}
