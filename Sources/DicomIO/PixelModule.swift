import ArrayFiles
import CDicom

/// The Image Pixel module of a file as stored (before decoding), validated far enough
/// that decoding can trust it.
public struct PixelModule: Equatable, Sendable, Codable {
    public var rows: Int
    public var columns: Int
    /// NumberOfFrames as the header declares it (1 when absent).
    public var declaredFrames: Int
    public var samplesPerPixel: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var highBit: Int
    public var pixelRepresentation: Int
    public var planarConfiguration: Int
    public var photometric: String
    public var encapsulated: Bool
    /// Fragments after the offset table (encapsulated data only).
    public var fragments: Int
    /// Bytes of native pixel data (native data only).
    public var nativeLength: Int

    public var isSigned: Bool { pixelRepresentation == 1 }
    public var bytesPerSample: Int { bitsAllocated / 8 }

    /// Bytes of one stored (native) frame. YBR_FULL_422 stores two samples per pixel.
    /// (Plain arithmetic: `validate(limits:)` has checked that these products fit.)
    public var storedFrameBytes: Int {
        let samples = photometric == "YBR_FULL_422" && !encapsulated ? 2 : samplesPerPixel
        return rows * columns * samples * bytesPerSample
    }

    /// Bytes of one frame as a codec delivers it (all samples of every pixel).
    public var decodedFrameBytes: Int {
        encapsulated ? rows * columns * samplesPerPixel * bytesPerSample : storedFrameBytes
    }

    static let supportedPhotometric: Set<String> = ["MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR"]

    /// Reads the module; throws `noPixelData`, `badPixelModule` or `limitExceeded` with the reason.
    public init(file: DicomFile, limits: DicomLimits = .standard) throws(DicomError) {
        var info = MDCPixelInfo()
        var error = [CChar](repeating: 0, count: 512)
        let status = mdc_pixel_info(file.handle, &info, &error, error.count)
        if status == Int32(MDC_NOT_FOUND) { throw .noPixelData }
        guard status == Int32(MDC_OK) else { throw .badPixelModule(String(cString: error)) }
        rows = Int(info.rows)
        columns = Int(info.columns)
        samplesPerPixel = Int(info.samplesPerPixel)
        bitsAllocated = Int(info.bitsAllocated)
        bitsStored = Int(info.bitsStored)
        highBit = Int(info.highBit)
        pixelRepresentation = Int(info.pixelRepresentation)
        planarConfiguration = Int(info.planarConfiguration)
        photometric = withUnsafeBytes(of: info.photometric) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }.trimmingCharacters(in: .whitespaces)
        encapsulated = info.encapsulated != 0
        fragments = Int(info.fragments)
        nativeLength = Int(info.nativeLength)
        // NumberOfFrames is IS; DCMTK reports 0 for "0", absent means 1.
        let declared = file.dataset.string(.numberOfFrames)
        if let declared {
            guard let value = Int(declared.trimmingCharacters(in: .whitespaces)) else {
                throw .badPixelModule("NumberOfFrames '\(declared)' is not a number")
            }
            declaredFrames = value
        } else {
            declaredFrames = 1
        }
        try validate(limits: limits)
    }

    /// Checks the module before anything is allocated from it: the values make sense, the
    /// sizes fit the limits (computed with overflow checks).
    ///     /// (Whether the pixel data holds every declared frame, in bytes or in fragments,
    /// `FrameDecoder` checks against the pixel data itself.)
    public func validate(limits: DicomLimits = .standard) throws(DicomError) {
        guard rows > 0, columns > 0 else { throw .badPixelModule("Rows \(rows) x Columns \(columns) is empty") }
        guard declaredFrames >= 1 else { throw .badPixelModule("NumberOfFrames is \(declaredFrames)") }
        guard let pixels = CheckedSize.product(rows, columns), pixels <= limits.maxPixelsPerFrame else {
            throw .limitExceeded("Rows \(rows) x Columns \(columns) is more pixels per frame than the limit max_pixels_per_frame = \(limits.maxPixelsPerFrame)")
        }
        guard declaredFrames <= limits.maxFrames else {
            throw .limitExceeded("NumberOfFrames \(declaredFrames) is more than the limit max_frames = \(limits.maxFrames)")
        }
        guard bitsAllocated == 8 || bitsAllocated == 16 else {
            throw .badPixelModule("BitsAllocated \(bitsAllocated) is not supported (8 or 16)")
        }
        guard bitsStored >= 1, bitsStored <= bitsAllocated, highBit >= bitsStored - 1, highBit < bitsAllocated else {
            throw .badPixelModule("BitsStored \(bitsStored) / HighBit \(highBit) do not fit BitsAllocated \(bitsAllocated)")
        }
        guard Self.supportedPhotometric.contains(photometric) else {
            throw .badPixelModule("PhotometricInterpretation '\(photometric)' is not supported")
        }
        let expectedSamples = ["RGB", "YBR_FULL", "YBR_FULL_422"].contains(photometric) ? 3 : 1
        guard samplesPerPixel == expectedSamples else {
            throw .badPixelModule("SamplesPerPixel \(samplesPerPixel) does not match \(photometric)")
        }
        if photometric.hasPrefix("YBR"), bitsAllocated != 8 {
            throw .badPixelModule("\(photometric) with \(bitsAllocated) bits per sample is not supported")
        }
        if photometric == "YBR_FULL_422", !encapsulated, columns % 2 != 0 {
            throw .badPixelModule("uncompressed YBR_FULL_422 needs an even number of columns, not \(columns)")
        }
        // Samples are 1 or 3 and bits 8 or 16 by now, so a frame is at most
        // maxPixelsPerFrame x 6 bytes; the product is still checked, limits being configurable.
        guard CheckedSize.product(rows, columns, samplesPerPixel, bytesPerSample, declaredFrames) != nil else {
            throw .limitExceeded("Rows \(rows) x Columns \(columns) x SamplesPerPixel \(samplesPerPixel) x NumberOfFrames \(declaredFrames) overflows")
        }
    }
}
