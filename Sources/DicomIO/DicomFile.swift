import CDicom
import Foundation

/// An open DICOM file. Header values are read on demand; values larger than a few KiB
/// (pixel data above all) stay on disk until a frame is decoded, so opening a long cine
/// costs about as much as reading its header.
///
/// A `DicomFile` and the items borrowed from it must be used by one thread at a time;
/// distinct files may be read in parallel.
public final class DicomFile {
    public let path: String
    let handle: OpaquePointer

    /// Opens `path`. Files with a Part 10 preamble, and bare datasets that start with a
    /// group 0002 or 0008 element, are accepted; anything else is `notDicom`.
    public init(path: String, lazyThreshold: UInt32 = 4096) throws(DicomError) {
        try DicomLibrary.ensureInitialized()
        self.path = path
        try Self.checkLooksLikeDicom(path)
        var error = [CChar](repeating: 0, count: 512)
        guard let opened = mdc_open(path, lazyThreshold, &error, error.count) else {
            throw .unreadable(String(cString: error))
        }
        handle = opened
    }

    /// Wraps a handle created by `mdc_create` (see `DicomWriter`).
    init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { mdc_close(handle) }

    /// The main dataset.
    public var dataset: DicomItem { DicomItem(file: self, handle: mdc_dataset(handle)) }

    /// The File Meta Information, when the file has one.
    public var meta: DicomItem? { mdc_meta(handle).map { DicomItem(file: self, handle: $0) } }

    public var hasMetaHeader: Bool { mdc_has_meta(handle) == 1 }

    /// The transfer syntax the dataset was stored with.
    public lazy var transferSyntax: TransferSyntax = {
        var uid = [CChar](repeating: 0, count: 128)
        var name = [CChar](repeating: 0, count: 256)
        _ = mdc_transfer_syntax(handle, &uid, uid.count, &name, name.count)
        return TransferSyntax(uid: String(cString: uid), fallbackName: String(cString: name))
    }()

    /// Convenience: a dataset value as trimmed text.
    public func string(_ tag: DicomTag) -> String? { dataset.string(tag) }
    public func int(_ tag: DicomTag, at index: Int = 0) -> Int? { dataset.int(tag, at: index) }
    public func double(_ tag: DicomTag, at index: Int = 0) -> Double? { dataset.double(tag, at: index) }

    /// Rejects files that are neither Part 10 nor a plausible bare dataset, before DCMTK
    /// guesses at them (it would happily parse a text file as implicit VR garbage).
    static func checkLooksLikeDicom(_ path: String) throws(DicomError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable("cannot open the file")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 132)) ?? Data()
        if head.isEmpty { throw .notDicom("the file is empty") }
        if head.count >= 132, head[128] == 0x44, head[129] == 0x49, head[130] == 0x43, head[131] == 0x4D { return }
        guard head.count >= 8 else { throw .notDicom("the file is only \(head.count) bytes long") }
        let littleGroup = UInt16(head[0]) | UInt16(head[1]) << 8
        let bigGroup = UInt16(head[1]) | UInt16(head[0]) << 8
        let plausible: Set<UInt16> = [0x0002, 0x0008]
        if plausible.contains(littleGroup) || plausible.contains(bigGroup) { return }
        throw .notDicom("no 'DICM' prefix at byte 128, and the data does not start with a group 0002 or 0008 element")
    }
}

/// A dataset, meta header or sequence item of an open `DicomFile`.
public struct DicomItem {
    let file: DicomFile
    let handle: OpaquePointer

    /// Whether the element is present (even if empty). Does not read the value, so asking
    /// about Pixel Data costs nothing.
    public func contains(_ tag: DicomTag) -> Bool {
        var length: UInt32 = 0
        return mdc_element_length(handle, tag.group, tag.element, &length) == Int32(MDC_OK)
    }

    /// The whole value as text (multiple values joined by `\`), trimmed of the padding
    /// spaces and NULs DICOM adds; nil when absent or empty.
    public func string(_ tag: DicomTag) -> String? {
        var text: UnsafeMutablePointer<CChar>?
        guard mdc_get_string(handle, tag.group, tag.element, &text) == Int32(MDC_OK), let text else { return nil }
        defer { mdc_free(text) }
        let value = String(cString: text).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return value.isEmpty ? nil : value
    }

    /// Value `index` as a number (any numeric VR, DS and IS included).
    public func double(_ tag: DicomTag, at index: Int = 0) -> Double? {
        var value = 0.0
        guard mdc_get_float64(handle, tag.group, tag.element, UInt(index), &value) == Int32(MDC_OK) else { return nil }
        return value
    }

    public func int(_ tag: DicomTag, at index: Int = 0) -> Int? {
        var value: Int64 = 0
        guard mdc_get_int64(handle, tag.group, tag.element, UInt(index), &value) == Int32(MDC_OK) else { return nil }
        return Int(value)
    }

    /// All values of a multi-valued numeric element.
    public func doubles(_ tag: DicomTag) -> [Double] {
        var values: [Double] = []
        while let value = double(tag, at: values.count) { values.append(value) }
        return values
    }

    /// All words of a US/SS/OW element (palette LUT data), in host order.
    public func uint16Array(_ tag: DicomTag) -> [UInt16]? {
        var words: UnsafeMutablePointer<UInt16>?
        var count: UInt = 0
        guard mdc_get_uint16_array(handle, tag.group, tag.element, &words, &count) == Int32(MDC_OK), let words else { return nil }
        defer { mdc_free(words) }
        return Array(UnsafeBufferPointer(start: words, count: Int(count)))
    }

    /// The items of a sequence (empty when absent).
    public func items(_ tag: DicomTag) -> [DicomItem] {
        var count: Int32 = 0
        guard mdc_seq_count(handle, tag.group, tag.element, &count) == Int32(MDC_OK) else { return [] }
        return (0..<count).compactMap { index in
            mdc_seq_item(handle, tag.group, tag.element, index).map { DicomItem(file: file, handle: $0) }
        }
    }

    /// The elements of this item in stored order.
    public var elements: [DicomElementInfo] {
        let count = mdc_item_card(handle)
        var result: [DicomElementInfo] = []
        result.reserveCapacity(Int(count))
        for index in 0..<count {
            var group: UInt16 = 0, element: UInt16 = 0, vm: UInt = 0, length: UInt32 = 0
            var vr: (CChar, CChar, CChar) = (0, 0, 0)
            let status = withUnsafeMutablePointer(to: &vr) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 3) {
                    mdc_item_element(handle, index, &group, &element, $0, &vm, &length)
                }
            }
            guard status == Int32(MDC_OK) else { continue }
            let vrText = String(cString: [vr.0, vr.1, 0])
            result.append(DicomElementInfo(tag: DicomTag(group, element), vr: vrText, multiplicity: Int(clamping: vm), length: Int(length)))
        }
        return result
    }

    /// Every element of this item as keyword -> value, recursing into sequences down to
    /// `maxDepth` levels (deeper sequences are summarised: a file may nest thousands). Binary
    /// values longer than `binaryLimit` bytes are summarised, not dumped.
    public func allValues(binaryLimit: Int = 64, maxDepth: Int = 8) -> [String: DicomValue] {
        var result: [String: DicomValue] = [:]
        for info in elements {
            let key = info.tag.isPrivate ? info.tag.description : info.tag.keyword
            if info.vr == "SQ" {
                let nested = items(info.tag)
                result[key] = maxDepth > 0
                    ? .sequence(nested.map { $0.allValues(binaryLimit: binaryLimit, maxDepth: maxDepth - 1) })
                    : .text("<sequence of \(nested.count) item\(nested.count == 1 ? "" : "s"), nested too deep to list>")
            } else if ["OB", "OW", "OF", "OD", "OL", "OV", "UN"].contains(info.vr), info.length > binaryLimit {
                result[key] = .text("<\(info.vr), \(info.length) bytes>")
            } else if ["US", "SS", "UL", "SL", "FL", "FD", "DS", "IS", "SV", "UV"].contains(info.vr) {
                let numbers = doubles(info.tag)
                result[key] = numbers.count == 1 ? .number(numbers[0]) : .numbers(numbers)
            } else {
                result[key] = .text(string(info.tag) ?? "")
            }
        }
        return result
    }
}

/// The shape of one element as listed by `DicomItem.elements`.
public struct DicomElementInfo: Equatable, Sendable {
    public let tag: DicomTag
    public let vr: String
    public let multiplicity: Int
    public let length: Int
}

/// A header value for display and JSON output.
public indirect enum DicomValue: Equatable, Sendable, Encodable {
    case text(String)
    case number(Double)
    case numbers([Double])
    case sequence([[String: DicomValue]])

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .numbers(let values): try container.encode(values)
        case .sequence(let items): try container.encode(items)
        }
    }

    /// A compact one-line rendering.
    public var text: String {
        switch self {
        case .text(let value): return value
        case .number(let value): return Self.format(value)
        case .numbers(let values): return values.map(Self.format).joined(separator: "\\")
        case .sequence(let items): return "<\(items.count) item\(items.count == 1 ? "" : "s")>"
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
