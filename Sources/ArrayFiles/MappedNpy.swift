import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a `.npy` file: packed shards of millions of samples are read
/// a sample at a time without loading the file. Only little-endian, C-order files are
/// mapped (MedCIL writes nothing else); others must go through `NpyArray.read`.
public final class MappedNpy: @unchecked Sendable {
    public let url: URL
    public let header: NpyHeader
    private let base: UnsafeMutableRawPointer
    private let length: Int

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw ArrayFileError.io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArrayFileError.io("cannot stat \(url.path)") }
        length = Int(info.st_size)
        guard length > 0, let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ArrayFileError.io("cannot map \(url.path)")
        }
        base = mapped
        do {
            let parsed = try NpyHeader.decode(UnsafeRawBufferPointer(start: base, count: length))
            guard !parsed.bigEndian, !parsed.fortranOrder else {
                throw ArrayFileError.unsupported("\(url.path): only little-endian C-order arrays can be memory-mapped")
            }
            guard parsed.dataOffset + parsed.byteCount <= length else {
                throw ArrayFileError.malformed("\(url.path): truncated .npy data")
            }
            header = parsed
        } catch {
            munmap(base, length)
            throw error
        }
    }

    deinit { munmap(base, length) }

    /// The element bytes of the whole array.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + header.dataOffset, count: header.byteCount)
    }

    /// The bytes of item `index` along the first axis (one sample of a packed shard).
    public func item(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(!header.shape.isEmpty && index >= 0 && index < header.shape[0], "index \(index) out of range")
        let itemBytes = header.byteCount / max(header.shape[0], 1)
        return UnsafeRawBufferPointer(start: base + header.dataOffset + index * itemBytes, count: itemBytes)
    }
}
