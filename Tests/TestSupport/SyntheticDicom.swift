import DicomIO
import Foundation

/// Small DICOM files written through DCMTK for tests, with a known pixel pattern:
/// sample c of pixel (x, y) in frame f is `(3x + 5y + 7f + 50c) mod 256`.
public enum SyntheticDicom {
    public static func pixel(x: Int, y: Int, frame: Int, channel: Int) -> UInt8 {
        UInt8((3 * x + 5 * y + 7 * frame + 50 * channel) % 256)
    }

    /// Interleaved `[frames, rows, columns, samples]` pattern.
    public static func pattern(rows: Int, columns: Int, frames: Int, samples: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows * columns * frames * samples)
        for f in 0..<frames { for y in 0..<rows { for x in 0..<columns { for c in 0..<samples {
            out.append(pixel(x: x, y: y, frame: f, channel: c))
        } } } }
        return out
    }

    /// - Parameter custom: interleaved pixels to store instead of the pattern.
    public static func write(to url: URL, rows: Int, columns: Int, frames: Int, colour: Bool, syntax: TransferSyntax,
                             declaredFrames: Int? = nil, planar: Bool = false, extra: [DicomTag: String] = [:],
                             pixels custom: [UInt8]? = nil) throws {
        let writer = try DicomWriter()
        let ds = writer.dataset
        try ds.put(.sopClassUID, "1.2.840.10008.5.1.4.1.1.3.1")
        try ds.put(.sopInstanceUID, "2.25.1234567\(rows)\(columns)\(frames)")
        try ds.put(.studyInstanceUID, "2.25.7654321")
        try ds.put(.modality, "US")
        try ds.put(.samplesPerPixel, colour ? 3 : 1)
        try ds.put(.photometricInterpretation, colour ? "RGB" : "MONOCHROME2")
        if colour { try ds.put(.planarConfiguration, planar ? 1 : 0) }
        try ds.put(.rows, rows)
        try ds.put(.columns, columns)
        try ds.put(.bitsAllocated, 8)
        try ds.put(.bitsStored, 8)
        try ds.put(.highBit, 7)
        try ds.put(.pixelRepresentation, 0)
        try ds.put(.numberOfFrames, declaredFrames ?? frames)
        for (tag, value) in extra { try ds.put(tag, value) }
        var pixels = custom ?? pattern(rows: rows, columns: columns, frames: frames, samples: colour ? 3 : 1)
        if colour && planar {
            let n = rows * columns
            var planes = [UInt8](repeating: 0, count: pixels.count)
            for f in 0..<frames { for p in 0..<n { for c in 0..<3 { planes[f * n * 3 + c * n + p] = pixels[f * n * 3 + p * 3 + c] } } }
            pixels = planes
        }
        try ds.putPixelData(pixels)
        try writer.save(to: url, transferSyntax: syntax, jpegQuality: 95)
    }
}
