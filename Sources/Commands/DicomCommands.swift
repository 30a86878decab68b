import ArgumentParser
import ArrayFiles
import DicomIO
import Foundation

/// `medcil dicom`: look inside one DICOM file.
struct DicomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Inspect a DICOM file: header facts and decoded frames.",
        subcommands: [DicomInfo.self, DicomFrames.self]
    )
}

/// `medcil dicom info FILE`
struct DicomInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a file's transfer syntax, image pixel module, ultrasound regions, frame timing and UIDs.",
        discussion: "Shows identifiers (PatientID, UIDs) in clear: it is a local debugging tool. Use --all for every element."
    )

    @Argument(help: "The DICOM file.")
    var file: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Also list every element of the dataset.")
    var all = false

    func run() throws {
        let dicom = try DicomFile(path: file)
        let summary = DicomSummary(file: dicom)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if all {
                struct Full: Encodable { let summary: DicomSummary; let elements: [String: DicomValue] }
                print(String(decoding: try encoder.encode(Full(summary: summary, elements: dicom.dataset.allValues())), as: UTF8.self))
            } else {
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            }
            return
        }
        print(DicomInfoText.render(summary))
        if all {
            print("\nElements:")
            for (key, value) in dicom.dataset.allValues().sorted(by: { $0.key < $1.key }) {
                print("  \(key): \(value.text)")
            }
        }
    }
}

enum DicomInfoText {
    static func render(_ s: DicomSummary) -> String {
        func show<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "-" }
        var lines: [String] = []
        lines.append("File:                 \(s.path)")
        lines.append("Meta header:          \(s.hasMetaHeader ? "yes (Part 10)" : "no (bare dataset)")")
        lines.append("Transfer syntax:      \(s.transferSyntax.name) (\(s.transferSyntax.uid))\(s.transferSyntax.decodable ? "" : "  [cannot be decoded here]")")
        lines.append("SOP class:            \(show(s.sopClassUID))")
        lines.append("Modality:             \(show(s.modality))   Manufacturer: \(show(s.manufacturer))")
        lines.append("Series description:   \(show(s.seriesDescription))")
        lines.append("Rows x Columns:       \(show(s.rows)) x \(show(s.columns))")
        lines.append("NumberOfFrames:       \(show(s.numberOfFrames))")
        lines.append("SamplesPerPixel:      \(show(s.samplesPerPixel))")
        lines.append("Bits alloc/stored/hi: \(show(s.bitsAllocated)) / \(show(s.bitsStored)) / \(show(s.highBit))   PixelRepresentation: \(show(s.pixelRepresentation))")
        lines.append("Photometric:          \(show(s.photometricInterpretation))   PlanarConfiguration: \(show(s.planarConfiguration))")
        lines.append("Pixel data:           \(s.hasPixelData ? "present" : "absent")")
        let t = s.frameTiming
        lines.append("Frame timing:         FrameTime \(show(t.frameTime)) ms, FrameTimeVector \(t.frameTimeVector.map { "\($0.count) values" } ?? "-"), CineRate \(show(t.cineRate)), RecommendedDisplayFrameRate \(show(t.recommendedDisplayFrameRate))")
        lines.append("Frames per second:    \(s.framesPerSecond.map { String(format: "%.2f", $0) } ?? "-")")
        lines.append("PatientID:            \(show(s.patientID))")
        lines.append("StudyInstanceUID:     \(show(s.studyInstanceUID))")
        lines.append("SeriesInstanceUID:    \(show(s.seriesInstanceUID))")
        lines.append("SOPInstanceUID:       \(show(s.sopInstanceUID))")
        lines.append("Ultrasound regions:   \(s.ultrasoundRegions.count)")
        for (k, region) in s.ultrasoundRegions.enumerated() {
            lines.append("  [\(k)] box x \(region.minX0)...\(region.maxX1), y \(region.minY0)...\(region.maxY1)  spatial format \(show(region.spatialFormat))  data type \(show(region.dataType))\(region.isInside(rows: s.rows ?? 0, columns: s.columns ?? 0) ? "" : "  [outside the image]")")
            for key in region.fields.keys.sorted() {
                lines.append("      \(key): \(region.fields[key]!)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// `medcil dicom frames FILE --out X.npy`
struct DicomFrames: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Decode every frame into one .npy of shape [frames, rows, columns, samples].",
        discussion: """
        Pixels are as the file holds them, without geometry: grey stays grey (MONOCHROME1 inverted), colour is RGB \
        (YBR converted, PALETTE COLOR applied). dtype uint8, uint16 (16-bit data or palettes) or int16 (signed grey). \
        Frames are decoded and written one at a time.
        """
    )

    @Argument(help: "The DICOM file.")
    var file: String

    @Option(help: "Output .npy path.")
    var out: String

    func run() throws {
        let dicom = try DicomFile(path: file)
        let decoder = try FrameDecoder(file: dicom)
        let shape = [decoder.frameCount, decoder.rows, decoder.columns, decoder.outputSamples]
        let writer = try NpyStreamWriter(url: URL(fileURLWithPath: out), dtype: decoder.outputType, shape: shape)
        var buffer = [UInt8](repeating: 0, count: decoder.outputFrameBytes)
        for frame in 0..<decoder.frameCount {
            try buffer.withUnsafeMutableBytes { try decoder.decode(frame: frame, into: $0) }
            try writer.append(buffer)
        }
        try writer.finish()
        print("wrote \(out): \(shape.map(String.init).joined(separator: "x")) \(decoder.outputType.rawValue)")
    }
}
