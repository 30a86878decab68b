import ArrayFiles
import CDicom

/// Decodes the frames of one file, one at a time, into the image "as the file is":
/// grey stays grey (MONOCHROME1 inverted so that high is bright), colour becomes
/// interleaved RGB (YBR_* converted, PALETTE COLOR looked up), no geometry applied.
///
/// Only the frame being decoded is held besides the caller's buffer, so a long cine costs
/// a few frames of memory, not the whole file.
///
/// Output layout: `[rows, columns, samples]` C order; samples is 1 (grey) or 3 (RGB).
/// Element type: uint8 for 8-bit data and 8-bit palettes, uint16 for 16-bit unsigned data
/// and 16-bit palettes, int16 for 16-bit signed grey data.
public final class FrameDecoder {
    public let file: DicomFile
    public let pixels: PixelModule
    /// Frames that can be decoded: NumberOfFrames, checked against what the data holds.
    public let frameCount: Int
    public let outputSamples: Int
    public let outputType: NpyDType
    public let palette: PaletteLUT?
    private var scratch: [UInt8]
    private var samples: [Int32]

    /// Reads and checks the pixel module (`PixelModule`, against `limits`) and that the pixel
    /// data holds every declared frame: NumberOfFrames x frame bytes for native data, a
    /// fragment starting each frame for encapsulated data. Nothing frame-sized is allocated
    /// until the first frame is decoded.
    public init(file: DicomFile, limits: DicomLimits = .standard) throws(DicomError) {
        self.file = file
        let syntax = file.transferSyntax
        guard syntax.isDecodable else { throw .unsupportedTransferSyntax(uid: syntax.uid, name: syntax.name) }
        pixels = try PixelModule(file: file, limits: limits)

        var available: UInt32 = 0
        var error = [CChar](repeating: 0, count: 512)
        guard mdc_available_frames(file.handle, UInt64(pixels.storedFrameBytes), &available, &error, error.count) == Int32(MDC_OK) else {
            throw .badPixelModule(String(cString: error))
        }
        if Int(available) < pixels.declaredFrames {
            let unit = pixels.encapsulated ? "frames" : "frames of \(pixels.storedFrameBytes) bytes"
            throw .badPixelModule("NumberOfFrames is \(pixels.declaredFrames) but the pixel data holds \(available) \(unit)")
        }
        frameCount = pixels.declaredFrames

        switch pixels.photometric {
        case "PALETTE COLOR":
            let lut = try PaletteLUT(dataset: file.dataset, signedPixels: pixels.isSigned)
            palette = lut
            outputSamples = 3
            outputType = lut.bitsPerEntry > 8 ? .uint16 : .uint8
        case "MONOCHROME1", "MONOCHROME2":
            palette = nil
            outputSamples = 1
            outputType = pixels.bitsAllocated == 8 ? .uint8 : (pixels.isSigned ? .int16 : .uint16)
        default:
            palette = nil
            outputSamples = 3
            outputType = pixels.bitsAllocated == 8 ? .uint8 : .uint16
        }
        scratch = []
        samples = []
    }

    public var rows: Int { pixels.rows }
    public var columns: Int { pixels.columns }
    /// Bytes of one decoded output frame.
    public var outputFrameBytes: Int { rows * columns * outputSamples * outputType.size }

    /// Decodes frame `index` (0-based) into `out`, which must hold `outputFrameBytes`.
    public func decode(frame index: Int, into out: UnsafeMutableRawBufferPointer) throws(DicomError) {
        guard index >= 0 && index < frameCount else {
            throw .decodeFailed(frame: index, reason: "the file has \(frameCount) frames")
        }
        guard out.count >= outputFrameBytes else {
            throw .decodeFailed(frame: index, reason: "the output buffer holds \(out.count) bytes, a frame needs \(outputFrameBytes)")
        }
        if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: pixels.decodedFrameBytes + 2) }
        var colorModel = [CChar](repeating: 0, count: 64)
        var planar: Int32 = 0
        var error = [CChar](repeating: 0, count: 512)
        let status = scratch.withUnsafeMutableBytes { raw in
            mdc_decode_frame(file.handle, UInt32(index), UInt64(pixels.storedFrameBytes), raw.baseAddress, raw.count,
                             &colorModel, colorModel.count, &planar, &error, error.count)
        }
        guard status == Int32(MDC_OK) else { throw .decodeFailed(frame: index, reason: String(cString: error)) }
        let reported = String(cString: colorModel).trimmingCharacters(in: .whitespaces)
        let model = reported.isEmpty ? pixels.photometric : reported
        // A codec stream may disagree with the header (a 3-component JPEG in a MONOCHROME2
        // file): the conversion below indexes by the header's sample count, so refuse.
        let modelSamples = ["RGB", "YBR_FULL", "YBR_FULL_422"].contains(model) ? 3
            : ["MONOCHROME1", "MONOCHROME2", "PALETTE COLOR"].contains(model) ? 1 : pixels.samplesPerPixel
        guard modelSamples == pixels.samplesPerPixel else {
            throw .decodeFailed(frame: index, reason: "the codec produced \(model) (\(modelSamples) samples per pixel) but the header says \(pixels.photometric) with \(pixels.samplesPerPixel)")
        }
        try convert(model: model, planar: Int(planar), into: out)
    }

    /// Decodes one frame into a fresh byte array.
    public func decode(frame index: Int) throws(DicomError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: outputFrameBytes)
        var failure: DicomError?
        bytes.withUnsafeMutableBytes { raw in
            do { try decode(frame: index, into: raw) } catch { failure = error as? DicomError }
        }
        if let failure { throw failure }
        return bytes
    }

    // MARK: - conversion of decoded bytes to the output image

    private func convert(model: String, planar: Int, into out: UnsafeMutableRawBufferPointer) throws(DicomError) {
        let pixelCount = rows * columns
        let native = !pixels.encapsulated
        let plain8 = pixels.bitsAllocated == 8 && pixels.bitsStored == 8 && !pixels.isSigned
        // Fast path, the common case of echo cines: 8-bit grey or pixel-interleaved RGB.
        if plain8 && (model == "MONOCHROME2" || (model == "RGB" && planar == 0)) {
            let bytes = pixelCount * outputSamples
            scratch.withUnsafeBytes { src in
                guard let source = src.baseAddress, let target = out.baseAddress else { return }
                target.copyMemory(from: source, byteCount: bytes)
            }
            return
        }
        // 1. Stored samples as integers, masked to BitsStored and sign-extended.
        let expands422 = model == "YBR_FULL_422" && native
        let count = pixelCount * (expands422 ? 2 : pixels.samplesPerPixel)
        if samples.count != count { samples = [Int32](repeating: 0, count: count) }
        unpackSamples(count: count)
        // 2. Layout: 4:2:2 expanded, colour planes interleaved.
        if expands422 {
            expand422(pixelCount: pixelCount)
        } else if pixels.samplesPerPixel == 3 && planar == 1 {
            interleavePlanes(pixelCount: pixelCount)
        }
        // 3. Colour.
        switch model {
        case "YBR_FULL", "YBR_FULL_422":
            ybrToRGB(count: pixelCount * 3)
        case "MONOCHROME1":
            invertMonochrome(count: pixelCount)
        case "PALETTE COLOR":
            guard let palette else { throw .badPixelModule("PALETTE COLOR without a palette") }
            writePalette(palette, pixelCount: pixelCount, into: out)
            return
        case "RGB", "MONOCHROME2":
            break
        default:
            throw .badPixelModule("the codec produced the unsupported colour model '\(model)'")
        }
        write(count: pixelCount * outputSamples, into: out)
    }

    private func unpackSamples(count: Int) {
        let bitsStored = pixels.bitsStored
        let shift = pixels.highBit + 1 - bitsStored
        let mask: Int32 = bitsStored >= 32 ? -1 : Int32((1 << bitsStored) - 1)
        let signed = pixels.isSigned
        let signBit: Int32 = 1 << (bitsStored - 1)
        let needsMask = bitsStored < pixels.bitsAllocated || shift != 0
        scratch.withUnsafeBytes { raw in
            samples.withUnsafeMutableBufferPointer { dst in
                if pixels.bitsAllocated == 8 {
                    let src = raw.bindMemory(to: UInt8.self)
                    for k in 0..<count { dst[k] = Int32(src[k]) }
                } else {
                    let src = raw.bindMemory(to: UInt16.self)
                    for k in 0..<count { dst[k] = Int32(src[k]) }
                }
                if needsMask || signed {
                    for k in 0..<count {
                        var value = (dst[k] >> Int32(shift)) & mask
                        if signed && value & signBit != 0 { value -= signBit << 1 }
                        dst[k] = value
                    }
                }
            }
        }
    }

    /// Y0 Y1 Cb Cr per pixel pair -> (Y0 Cb Cr)(Y1 Cb Cr).
    private func expand422(pixelCount: Int) {
        var full = [Int32](repeating: 0, count: pixelCount * 3)
        samples.withUnsafeBufferPointer { src in
            full.withUnsafeMutableBufferPointer { dst in
                for pair in 0..<(pixelCount / 2) {
                    let y0 = src[pair * 4], y1 = src[pair * 4 + 1], cb = src[pair * 4 + 2], cr = src[pair * 4 + 3]
                    dst[pair * 6] = y0; dst[pair * 6 + 1] = cb; dst[pair * 6 + 2] = cr
                    dst[pair * 6 + 3] = y1; dst[pair * 6 + 4] = cb; dst[pair * 6 + 5] = cr
                }
            }
        }
        samples = full
    }

    private func interleavePlanes(pixelCount: Int) {
        var interleaved = [Int32](repeating: 0, count: pixelCount * 3)
        samples.withUnsafeBufferPointer { src in
            interleaved.withUnsafeMutableBufferPointer { dst in
                for p in 0..<pixelCount {
                    dst[p * 3] = src[p]
                    dst[p * 3 + 1] = src[pixelCount + p]
                    dst[p * 3 + 2] = src[2 * pixelCount + p]
                }
            }
        }
        samples = interleaved
    }

    /// YBR_FULL -> RGB (PS3.3 C.7.6.3.1.2), in float32 with the coefficients and rounding
    /// pydicom uses, so that both readers give identical pixels.
    private func ybrToRGB(count: Int) {
        let crR = Float(1.402)
        let cbG = Float(-0.114 * 1.772 / 0.587)
        let crG = Float(-0.299 * 1.402 / 0.587)
        let cbB = Float(1.772)
        samples.withUnsafeMutableBufferPointer { s in
            var k = 0
            while k + 2 < count {
                let y = Float(s[k]), cb = Float(s[k + 1]) - 128, cr = Float(s[k + 2]) - 128
                let r = y + cr * crR
                let g = y + cb * cbG + cr * crG
                let b = y + cb * cbB
                s[k] = Int32(min(max((r + 0.5).rounded(.down), 0), 255))
                s[k + 1] = Int32(min(max((g + 0.5).rounded(.down), 0), 255))
                s[k + 2] = Int32(min(max((b + 0.5).rounded(.down), 0), 255))
                k += 3
            }
        }
    }

    /// MONOCHROME1 shows low values bright; invert so that high is bright, as MONOCHROME2.
    private func invertMonochrome(count: Int) {
        let maxValue: Int32 = Int32((1 << pixels.bitsStored) - 1)
        let signed = pixels.isSigned
        samples.withUnsafeMutableBufferPointer { s in
            for k in 0..<count { s[k] = signed ? -1 - s[k] : maxValue - s[k] }
        }
    }

    private func writePalette(_ palette: PaletteLUT, pixelCount: Int, into out: UnsafeMutableRawBufferPointer) {
        samples.withUnsafeBufferPointer { src in
            if outputType == .uint16 {
                let dst = out.bindMemory(to: UInt16.self)
                for p in 0..<pixelCount {
                    let entry = palette.entryIndex(Int(src[p]))
                    dst[p * 3] = palette.red[entry]
                    dst[p * 3 + 1] = palette.green[min(entry, palette.green.count - 1)]
                    dst[p * 3 + 2] = palette.blue[min(entry, palette.blue.count - 1)]
                }
            } else {
                let dst = out.bindMemory(to: UInt8.self)
                for p in 0..<pixelCount {
                    let entry = palette.entryIndex(Int(src[p]))
                    dst[p * 3] = UInt8(truncatingIfNeeded: palette.red[entry])
                    dst[p * 3 + 1] = UInt8(truncatingIfNeeded: palette.green[min(entry, palette.green.count - 1)])
                    dst[p * 3 + 2] = UInt8(truncatingIfNeeded: palette.blue[min(entry, palette.blue.count - 1)])
                }
            }
        }
    }

    private func write(count: Int, into out: UnsafeMutableRawBufferPointer) {
        samples.withUnsafeBufferPointer { src in
            switch outputType {
            case .uint8:
                let dst = out.bindMemory(to: UInt8.self)
                for k in 0..<count { dst[k] = UInt8(truncatingIfNeeded: src[k]) }
            case .int16:
                let dst = out.bindMemory(to: Int16.self)
                for k in 0..<count { dst[k] = Int16(truncatingIfNeeded: src[k]) }
            default:
                let dst = out.bindMemory(to: UInt16.self)
                for k in 0..<count { dst[k] = UInt16(truncatingIfNeeded: src[k]) }
            }
        }
    }
}
