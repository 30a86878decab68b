import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a `.npy` file whose shape is known up front, one chunk at a time, so that large
/// outputs (all frames of a cine, a packed shard of thousands of samples) never have to
/// sit in memory whole. The file appears at its destination only after `finish()`
/// checks that exactly the announced number of bytes was appended.
public final class NpyStreamWriter {
    public let url: URL
    public let header: NpyHeader
    private let temporary: URL
    private var handle: UnsafeMutablePointer<FILE>?
    private var written = 0

    public init(url: URL, dtype: NpyDType, shape: [Int]) throws {
        self.url = url
        self.header = NpyHeader(dtype: dtype, shape: shape)
        try AtomicFile.ensureDirectory(url.deletingLastPathComponent())
        temporary = AtomicFile.temporaryURL(for: url)
        guard let file = fopen(temporary.path, "wb") else {
            throw ArrayFileError.io("cannot create \(temporary.path): \(String(cString: strerror(errno)))")
        }
        handle = file
        setvbuf(file, nil, _IOFBF, 1 << 20)
        let bytes = header.encoded()
        try put(bytes)
        written = 0
    }

    deinit {
        if let handle {
            fclose(handle)
            unlink(temporary.path)
        }
    }

    /// Appends element bytes (host order, C order).
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard written + bytes.count <= header.byteCount else {
            throw ArrayFileError.mismatch("\(url.lastPathComponent): more data than shape \(header.shape) holds")
        }
        guard let handle, let base = bytes.baseAddress else { return }
        if fwrite(base, 1, bytes.count, handle) != bytes.count {
            throw ArrayFileError.io("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        written += bytes.count
    }

    public func append(_ data: Data) throws {
        try data.withUnsafeBytes { try append($0) }
    }

    public func append<T>(_ values: [T]) throws {
        try values.withUnsafeBytes { try append($0) }
    }

    /// Closes the file and moves it into place.
    public func finish() throws {
        guard let file = handle else { return }
        handle = nil
        let closed = fclose(file) == 0
        guard closed else {
            unlink(temporary.path)
            throw ArrayFileError.io("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        guard written == header.byteCount else {
            unlink(temporary.path)
            throw ArrayFileError.mismatch("\(url.lastPathComponent): wrote \(written) of \(header.byteCount) data bytes")
        }
        try AtomicFile.commit(temporary, to: url)
    }

    private func put(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            guard let handle, let base = raw.baseAddress else { return }
            if fwrite(base, 1, raw.count, handle) != raw.count {
                throw ArrayFileError.io("cannot write \(url.path): \(String(cString: strerror(errno)))")
            }
        }
    }
}
