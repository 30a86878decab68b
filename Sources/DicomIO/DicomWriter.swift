import ArrayFiles
import CDicom
import Foundation

/// Builds a DICOM Part 10 file in memory and writes it in a chosen transfer syntax through
/// DCMTK's encoders. MedCIL uses it for phantom exports and test fixtures, so the files it
/// reads in tests come from a real DICOM toolkit, not from its own reader's assumptions.
public final class DicomWriter {
    private let file: DicomFile

    public init() throws(DicomError) {
        try DicomLibrary.ensureInitialized()
        guard let handle = mdc_create() else { throw .writeFailed("cannot create a dataset") }
        file = DicomFile(handle: handle, path: "<memory>")
    }

    /// The dataset being built.
    public var dataset: DicomWritableItem { DicomWritableItem(owner: file, handle: mdc_dataset(file.handle)) }

    /// Encodes and writes the file atomically.
    public func save(to url: URL, transferSyntax: TransferSyntax, jpegQuality: Int = 90) throws(DicomError) {
        do {
            try AtomicFile.ensureDirectory(url.deletingLastPathComponent())
        } catch {
            throw .writeFailed("\(error)")
        }
        let temporary = AtomicFile.temporaryURL(for: url)
        var error = [CChar](repeating: 0, count: 512)
        guard mdc_save(file.handle, temporary.path, transferSyntax.uid, Int32(jpegQuality), &error, error.count) == Int32(MDC_OK) else {
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed("\(url.lastPathComponent): \(String(cString: error))")
        }
        do {
            try AtomicFile.commit(temporary, to: url)
        } catch {
            throw .writeFailed("\(error)")
        }
    }
}

/// A dataset or sequence item being written.
public struct DicomWritableItem {
    let owner: DicomFile
    let handle: OpaquePointer

    /// Puts a value given as text (numbers in decimal; several values joined by `\`).
    public func put(_ tag: DicomTag, _ value: String) throws(DicomError) {
        var error = [CChar](repeating: 0, count: 256)
        guard mdc_put_string(handle, tag.group, tag.element, value, &error, error.count) == Int32(MDC_OK) else {
            throw .writeFailed("\(tag) = '\(value)': \(String(cString: error))")
        }
    }

    public func put(_ tag: DicomTag, _ value: Int) throws(DicomError) { try put(tag, String(value)) }
    public func put(_ tag: DicomTag, _ value: Double) throws(DicomError) { try put(tag, String(value)) }

    /// Appends an item to a sequence.
    public func appendItem(to tag: DicomTag) throws(DicomError) -> DicomWritableItem {
        guard let item = mdc_seq_append(handle, tag.group, tag.element) else {
            throw .writeFailed("cannot add an item to \(tag)")
        }
        return DicomWritableItem(owner: owner, handle: item)
    }

    /// Native pixel data, all frames concatenated: bytes for 8-bit data, words (host order)
    /// for 16-bit.
    public func putPixelData(_ bytes: [UInt8]) throws(DicomError) {
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBytes { raw in
            mdc_put_pixel_data(handle, raw.baseAddress, UInt32(raw.count), 8, &error, error.count)
        }
        guard status == Int32(MDC_OK) else { throw .writeFailed("pixel data: \(String(cString: error))") }
    }

    public func putPixelData(_ words: [UInt16]) throws(DicomError) {
        var error = [CChar](repeating: 0, count: 256)
        let status = words.withUnsafeBytes { raw in
            mdc_put_pixel_data(handle, raw.baseAddress, UInt32(raw.count), 16, &error, error.count)
        }
        guard status == Int32(MDC_OK) else { throw .writeFailed("pixel data: \(String(cString: error))") }
    }
}
