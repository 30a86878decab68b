/// A PALETTE COLOR lookup table: stored pixel value -> (R, G, B).
///
/// Descriptors are (entries, first mapped value, bits per entry), entries 0 meaning 65536.
/// 16-bit tables give 16-bit RGB, 8-bit tables 8-bit RGB (8-bit entries may be packed two
/// to a word). Segmented tables (0028,1221-1223) are expanded as PS3.3 C.7.9.2 defines.
public struct PaletteLUT: Equatable, Sendable {
    public var firstMapped: Int
    public var bitsPerEntry: Int
    public var red: [UInt16]
    public var green: [UInt16]
    public var blue: [UInt16]

    public init(firstMapped: Int, bitsPerEntry: Int, red: [UInt16], green: [UInt16], blue: [UInt16]) {
        self.firstMapped = firstMapped
        self.bitsPerEntry = bitsPerEntry
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Reads the three tables of a dataset.
    public init(dataset: DicomItem, signedPixels: Bool) throws(DicomError) {
        var tables: [[UInt16]] = []
        var first = 0, bits = 0
        let channels: [(DicomTag, DicomTag, DicomTag, String)] = [
            (.redPaletteDescriptor, .redPaletteData, .segmentedRedPaletteData, "Red"),
            (.greenPaletteDescriptor, .greenPaletteData, DicomTag(0x0028, 0x1222), "Green"),
            (.bluePaletteDescriptor, .bluePaletteData, DicomTag(0x0028, 0x1223), "Blue"),
        ]
        for (descriptorTag, dataTag, segmentedTag, name) in channels {
            guard let entriesRaw = dataset.int(descriptorTag, at: 0), let firstRaw = dataset.int(descriptorTag, at: 1),
                  let bitsRaw = dataset.int(descriptorTag, at: 2) else {
                throw .badPixelModule("PALETTE COLOR without a complete \(name) Palette Color Lookup Table Descriptor")
            }
            let entries = entriesRaw == 0 ? 65536 : (entriesRaw < 0 ? entriesRaw + 65536 : entriesRaw)
            // The first mapped value is US or SS as the pixel data is unsigned or signed.
            let firstMapped = signedPixels ? Int(Int16(truncatingIfNeeded: firstRaw)) : Int(UInt16(truncatingIfNeeded: firstRaw))
            guard bitsRaw == 8 || bitsRaw == 16 else {
                throw .badPixelModule("\(name) palette entries of \(bitsRaw) bits (must be 8 or 16)")
            }
            var table: [UInt16]
            if let words = dataset.uint16Array(dataTag) {
                table = Self.unpack(words: words, entries: entries, bits: bitsRaw)
            } else if let segments = dataset.uint16Array(segmentedTag) {
                table = try Self.expandSegmented(segments, bits: bitsRaw)
            } else {
                throw .badPixelModule("PALETTE COLOR without \(name) Palette Color Lookup Table Data")
            }
            guard !table.isEmpty else { throw .badPixelModule("empty \(name) palette") }
            if table.count > entries { table = Array(table.prefix(entries)) }
            tables.append(table)
            first = firstMapped
            bits = bitsRaw
        }
        self.init(firstMapped: first, bitsPerEntry: bits, red: tables[0], green: tables[1], blue: tables[2])
    }

    /// 8-bit entries are either one per word or packed two per word (low byte first).
    static func unpack(words: [UInt16], entries: Int, bits: Int) -> [UInt16] {
        guard bits == 8 else { return words }
        if words.count >= entries { return words.map { $0 & 0xFF } }
        var bytes: [UInt16] = []
        bytes.reserveCapacity(words.count * 2)
        for word in words {
            bytes.append(word & 0xFF)
            bytes.append(word >> 8)
        }
        return bytes
    }

    /// Expands segmented LUT data (PS3.3 C.7.9.2): discrete segments (opcode 0) copy their
    /// values, linear segments (1) ramp from the previous value, indirect segments (2) replay
    /// `length` segments starting at a word offset into the data.
    ///
    /// A table has at most 65536 entries; the expansion stops with an error beyond that, since
    /// a few KiB of linear segments (65535 entries each) could otherwise ask for gigabytes.
    static func expandSegmented(_ data: [UInt16], bits: Int) throws(DicomError) -> [UInt16] {
        let maxEntries = 65536
        var out: [UInt16] = []
        func expand(from start: Int, segments: Int, nested: Bool) throws(DicomError) {
            var position = start
            var done = 0
            while done < segments && position + 1 < data.count {
                let opcode = Int(data[position]), length = Int(data[position + 1])
                guard opcode == 2 || out.count + length <= maxEntries else {
                    throw .badPixelModule("segmented palette expands to more than \(maxEntries) entries")
                }
                switch opcode {
                case 0:
                    guard position + 2 + length <= data.count else { throw .badPixelModule("truncated discrete palette segment") }
                    out.append(contentsOf: data[(position + 2)..<(position + 2 + length)])
                    position += 2 + length
                case 1:
                    guard let y0 = out.last, position + 2 < data.count else {
                        throw .badPixelModule("linear palette segment without a start value")
                    }
                    let y1 = data[position + 2]
                    let step = (Double(y1) - Double(y0)) / Double(max(length, 1))
                    for k in 0..<length {
                        out.append(y1 == y0 ? y1 : UInt16((Double(y0) + step * Double(k + 1)).rounded(.toNearestOrEven)))
                    }
                    position += 3
                case 2:
                    guard !nested, !out.isEmpty, position + 3 < data.count else {
                        throw .badPixelModule("nested, leading or truncated indirect palette segment")
                    }
                    let offset = Int(data[position + 2]) | Int(data[position + 3]) << 16
                    guard offset < data.count else { throw .badPixelModule("indirect palette segment points past the table") }
                    try expand(from: offset, segments: length, nested: true)
                    position += 4
                default:
                    throw .badPixelModule("unknown segmented palette opcode \(opcode)")
                }
                done += 1
            }
        }
        try expand(from: 0, segments: Int.max, nested: false)
        return bits == 8 ? out.map { $0 & 0xFF } : out
    }

    /// The table entry for a stored value, clamped at both ends as the standard requires.
    @inline(__always)
    func entryIndex(_ value: Int) -> Int {
        let position = value - firstMapped
        if position <= 0 { return 0 }
        return position >= red.count ? red.count - 1 : position
    }
}
