import ArrayFiles
import CZlib
import Foundation

/// The arrays of a NumPy `.npz` file (a zip of `.npy` members), as `np.savez` (stored members)
/// and `np.savez_compressed` (deflated members, which real MedMNIST files are) write them.
/// Deflate is decoded by the system zlib. Every member's CRC-32 is checked, and a member is
/// refused, with the file and member named, when its stream is damaged, when it inflates to
/// another size than the directory states, or when its stated size is past what deflate can
/// produce from its compressed bytes (1032:1) or past `maxMemberBytes` (zip bombs).
public enum NpzArchive {
    /// The largest member MedCIL inflates: 4 GiB (MedMNIST's largest 28x28 member is about
    /// 130 MB; the bound keeps a hostile file from asking for more memory than a machine has).
    public static let defaultMaxMemberBytes = 4 << 30
    /// Deflate's largest expansion: 258 bytes from 2 bits, about 1032:1.
    static let maxDeflateRatio = 1032

    /// One member as the central directory describes it.
    struct Member {
        var name: String
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeader: Int
    }

    /// Every member, by name without ".npy".
    public static func read(from url: URL, maxMemberBytes: Int = defaultMaxMemberBytes) throws -> [String: NpyArray] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CILError("\(url.path): cannot read the file") }
        let bytes = [UInt8](data)
        var out: [String: NpyArray] = [:]
        for member in try centralDirectory(bytes, path: url.path) {
            let fail = { (reason: String) in CILError("\(url.path): member \(member.name): \(reason)") }
            let raw = try contents(of: member, in: bytes, maxMemberBytes: maxMemberBytes, fail: fail)
            let key = member.name.hasSuffix(".npy") ? String(member.name.dropLast(4)) : member.name
            do {
                out[key] = try NpyArray.decode(Data(raw))
            } catch {
                throw fail("\(error)")
            }
        }
        return out
    }

    /// The members listed in the end-of-central-directory record's directory.
    static func centralDirectory(_ bytes: [UInt8], path: String) throws -> [Member] {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        // The end-of-central-directory record: signature 0x06054b50 within the last 64 KiB + 22 bytes.
        var end = -1
        var k = bytes.count - 22
        while k >= max(0, bytes.count - 65_557) {
            if u32(k) == 0x0605_4B50 { end = k; break }
            k -= 1
        }
        guard end >= 0 else { throw CILError("\(path): not a zip archive (.npz), no end-of-central-directory record") }
        let entries = u16(end + 10)
        var at = u32(end + 16)
        var members: [Member] = []
        for _ in 0..<entries {
            guard at >= 0, at + 46 <= bytes.count, u32(at) == 0x0201_4B50 else { throw CILError("\(path): damaged zip central directory") }
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            guard at + 46 + nameLength + extraLength <= bytes.count else { throw CILError("\(path): damaged zip central directory") }
            var member = Member(name: String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self), method: u16(at + 10),
                                crc: UInt32(u32(at + 16)), compressedSize: u32(at + 20), size: u32(at + 24), localHeader: u32(at + 42))
            // ZIP64 (members of 4 GiB and more): the saturated fields follow in the extra field,
            // in the order size, compressed size, offset.
            var e = at + 46 + nameLength
            while e + 4 <= at + 46 + nameLength + extraLength {
                let id = u16(e), length = u16(e + 2)
                if id == 1 {
                    var field = e + 4
                    let limit = min(e + 4 + length, bytes.count)
                    func next() -> Int? { guard field + 8 <= limit else { return nil }; defer { field += 8 }; return u64(field) }
                    if member.size == 0xFFFF_FFFF { member.size = next() ?? member.size }
                    if member.compressedSize == 0xFFFF_FFFF { member.compressedSize = next() ?? member.compressedSize }
                    if member.localHeader == 0xFFFF_FFFF { member.localHeader = next() ?? member.localHeader }
                }
                e += 4 + length
            }
            members.append(member)
            at += 46 + nameLength + extraLength + commentLength
        }
        return members
    }

    /// A member's bytes: stored, or inflated with zlib, sizes and CRC-32 checked.
    static func contents(of member: Member, in bytes: [UInt8], maxMemberBytes: Int, fail: (String) -> CILError) throws -> [UInt8] {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        let local = member.localHeader
        guard local >= 0, local + 30 <= bytes.count, u16(local) | u16(local + 2) << 16 == 0x0403_4B50 else { throw fail("damaged local header") }
        let start = local + 30 + u16(local + 26) + u16(local + 28)
        guard member.compressedSize >= 0, member.compressedSize <= bytes.count - start else {
            throw fail("truncated: \(member.compressedSize) bytes stated, \(max(bytes.count - start, 0)) present")
        }
        guard member.size >= 0, member.size <= maxMemberBytes else {
            throw fail("states \(member.size) bytes, past the bound of \(maxMemberBytes) MedCIL inflates")
        }
        let compressed = bytes[start..<(start + member.compressedSize)]
        let out: [UInt8]
        switch member.method {
        case 0:
            guard member.size == member.compressedSize else { throw fail("stored member states \(member.size) bytes but holds \(member.compressedSize)") }
            out = Array(compressed)
        case 8:
            guard member.size <= member.compressedSize * maxDeflateRatio + 64 else {
                throw fail("states \(member.size) bytes from \(member.compressedSize) compressed, more than deflate can produce (a zip bomb or a lying size)")
            }
            out = try inflate(compressed, size: member.size, fail: fail)
        default:
            throw fail("compression method \(member.method); .npz members are stored (0) or deflated (8)")
        }
        let crc = crc32(out)
        guard crc == member.crc else { throw fail(String(format: "CRC-32 %08x, the directory states %08x (damaged data)", crc, member.crc)) }
        return out
    }

    /// Raw deflate (zip's method 8) into exactly `size` bytes: a stream that ends early, runs
    /// past `size` or is damaged is an error.
    static func inflate(_ input: ArraySlice<UInt8>, size: Int, fail: (String) -> CILError) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("zlib cannot start") }
        defer { inflateEnd(&stream) }
        // One byte more than stated: a stream that fills it says more than the directory does.
        var out = [UInt8](repeating: 0, count: size + 1)
        var input = Array(input)
        var status: Int32 = Z_OK
        let chunk = Int(UInt32.max / 2)
        try input.withUnsafeMutableBufferPointer { source in
            try out.withUnsafeMutableBufferPointer { target in
                var consumed = 0, produced = 0
                while true {
                    let inCount = min(source.count - consumed, chunk), outCount = min(target.count - produced, chunk)
                    stream.next_in = source.baseAddress.map { $0 + consumed }
                    stream.avail_in = uInt(inCount)
                    stream.next_out = target.baseAddress! + produced
                    stream.avail_out = uInt(outCount)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    consumed += inCount - Int(stream.avail_in)
                    produced += outCount - Int(stream.avail_out)
                    if status == Z_STREAM_END { break }
                    guard status == Z_OK else {
                        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                        throw fail(status == Z_BUF_ERROR ? "the deflate stream ends before its end marker (truncated)" : "damaged deflate stream (\(message))")
                    }
                    if produced > size { throw fail("inflates to more than the \(size) bytes the directory states") }
                }
                guard produced == size else { throw fail("inflates to \(produced) bytes, the directory states \(size)") }
            }
        }
        out.removeLast()
        return out
    }

    /// CRC-32 (zip's checksum) of `bytes`, by zlib, in chunks its 32-bit lengths take.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var at = 0
            repeat {
                let count = min(buffer.count - at, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress.map { $0 + at }, uInt(count))
                at += count
            } while at < buffer.count
            return UInt32(crc)
        }
    }
}
