import Foundation

/// Minimal PNG writer for 8-bit greyscale images (stored, uncompressed deflate blocks), so
/// reports can embed sample frames without an image library.
public enum PNGEncoder {
    public static func grey(_ pixels: [UInt8], width: Int, height: Int) -> Data {
        precondition(pixels.count == width * height)
        var raw = Data(capacity: height * (width + 1))
        for y in 0..<height {
            raw.append(0)  // filter type: none
            raw.append(contentsOf: pixels[(y * width)..<((y + 1) * width)])
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(bigEndian: UInt32(width)); header.append(bigEndian: UInt32(height))
        header.append(contentsOf: [8, 0, 0, 0, 0])  // 8 bits, greyscale, deflate, no filter, no interlace
        png.append(chunk("IHDR", header))
        png.append(chunk("IDAT", zlibStored(raw)))
        png.append(chunk("IEND", Data()))
        return png
    }

    static func chunk(_ type: String, _ data: Data) -> Data {
        var out = Data()
        out.append(bigEndian: UInt32(data.count))
        let body = Data(type.utf8) + data
        out.append(body)
        out.append(bigEndian: crc32(body))
        return out
    }

    /// zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: Data) -> Data {
        var out = Data([0x78, 0x01])
        let bytes = [UInt8](data)
        var offset = 0
        repeat {
            let length = min(65535, bytes.count - offset)
            let last: UInt8 = offset + length >= bytes.count ? 1 : 0
            out.append(last)
            out.append(UInt8(length & 0xFF)); out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF)); out.append(UInt8((~length >> 8) & 0xFF))
            out.append(contentsOf: bytes[offset..<(offset + length)])
            offset += length
        } while offset < bytes.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        out.append(bigEndian: (b << 16) | a)
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

extension Data {
    mutating func append(bigEndian value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
