import ArrayFiles
import Foundation

/// The arrays of a NumPy `.npz` file (a zip of `.npy` members), as `np.savez` writes them:
/// stored (uncompressed) members only. `np.savez_compressed` deflates its members, which this
/// reader refuses with a clear error rather than reading wrongly (re-save with `np.savez`).
public enum NpzArchive {
    /// Every member, by name without ".npy".
    public static func read(from url: URL) throws -> [String: NpyArray] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CILError("\(url.path): cannot read the file") }
        let bytes = [UInt8](data)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        // The end-of-central-directory record: signature 0x06054b50 within the last 64 KiB + 22 bytes.
        var end = -1
        var k = bytes.count - 22
        while k >= max(0, bytes.count - 65_557) {
            if u32(k) == 0x0605_4B50 { end = k; break }
            k -= 1
        }
        guard end >= 0 else { throw CILError("\(url.path): not a zip archive (.npz), no end-of-central-directory record") }
        let entries = u16(end + 10)
        var at = u32(end + 16)
        var out: [String: NpyArray] = [:]
        for _ in 0..<entries {
            guard at + 46 <= bytes.count, u32(at) == 0x0201_4B50 else { throw CILError("\(url.path): damaged zip central directory") }
            let method = u16(at + 10)
            var compressed = u32(at + 20)
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            var local = u32(at + 42)
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            // ZIP64 (members of 4 GiB and more): sizes and offset in the extra field.
            if compressed == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
                var e = at + 46 + nameLength
                while e + 4 <= at + 46 + nameLength + extraLength {
                    let id = u16(e), size = u16(e + 2)
                    if id == 1 {
                        var field = e + 4
                        func u64(_ p: Int) -> Int { u32(p) | u32(p + 4) << 32 }
                        if u32(at + 24) == 0xFFFF_FFFF { field += 8 }
                        if compressed == 0xFFFF_FFFF { compressed = u64(field); field += 8 }
                        if local == 0xFFFF_FFFF { local = u64(field) }
                    }
                    e += 4 + size
                }
            }
            at += 46 + nameLength + extraLength + commentLength
            guard method == 0 else {
                throw CILError("\(url.path): member \(name) is compressed (method \(method)); MedCIL reads np.savez archives, re-save with np.savez")
            }
            guard local + 30 <= bytes.count, u32(local) == 0x0403_4B50 else { throw CILError("\(url.path): damaged local header of \(name)") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard start + compressed <= bytes.count else { throw CILError("\(url.path): member \(name) is truncated") }
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            do {
                out[key] = try NpyArray.decode(Data(bytes[start..<(start + compressed)]))
            } catch {
                throw CILError("\(url.path): member \(name): \(error)")
            }
        }
        return out
    }
}
