import CDicom
import Foundation

/// A data element tag (group, element), printed as `(0018,6011)`.
public struct DicomTag: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// Looks a keyword (e.g. "SeriesDescription") up in DCMTK's data dictionary, or parses
    /// a literal tag written as "0008,103E", "(0008,103E)" or "0008103E".
    public init?(keyword: String) {
        let text = keyword.trimmingCharacters(in: .whitespaces)
        let hex = text.filter { $0 != "(" && $0 != ")" && $0 != "," }
        if hex.count == 8, let value = UInt32(hex, radix: 16), text.contains(",") || text.allSatisfy(\.isHexDigit) {
            self.init(UInt16(value >> 16), UInt16(value & 0xFFFF))
            return
        }
        guard (try? DicomLibrary.ensureInitialized()) != nil else { return nil }
        var group: UInt16 = 0, element: UInt16 = 0
        guard mdc_tag_for_keyword(text, &group, &element) == Int32(MDC_OK) else { return nil }
        self.init(group, element)
    }

    /// The dictionary keyword ("PatientID"), or "Unknown"/"PrivateTag".
    public var keyword: String {
        _ = try? DicomLibrary.ensureInitialized()
        var buffer = [CChar](repeating: 0, count: 128)
        mdc_keyword_for_tag(group, element, &buffer, buffer.count)
        return String(cString: buffer)
    }

    public var isPrivate: Bool { group % 2 == 1 }

    public var description: String {
        "(" + hex4(group) + "," + hex4(element) + ")"
    }

    public static func < (a: DicomTag, b: DicomTag) -> Bool {
        (a.group, a.element) < (b.group, b.element)
    }

    private func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}

/// Tags MedCIL reads by name. Keeping them here avoids dictionary look-ups on hot paths.
public extension DicomTag {
    static let transferSyntaxUID = DicomTag(0x0002, 0x0010)
    static let sopClassUID = DicomTag(0x0008, 0x0016)
    static let sopInstanceUID = DicomTag(0x0008, 0x0018)
    static let studyDate = DicomTag(0x0008, 0x0020)
    static let modality = DicomTag(0x0008, 0x0060)
    static let manufacturer = DicomTag(0x0008, 0x0070)
    static let manufacturerModelName = DicomTag(0x0008, 0x1090)
    static let seriesDescription = DicomTag(0x0008, 0x103E)
    static let studyDescription = DicomTag(0x0008, 0x1030)
    static let recommendedDisplayFrameRate = DicomTag(0x0008, 0x2144)
    static let patientName = DicomTag(0x0010, 0x0010)
    static let patientID = DicomTag(0x0010, 0x0020)
    static let patientBirthDate = DicomTag(0x0010, 0x0030)
    static let cineRate = DicomTag(0x0018, 0x0040)
    static let frameTime = DicomTag(0x0018, 0x1063)
    static let frameTimeVector = DicomTag(0x0018, 0x1065)
    static let sequenceOfUltrasoundRegions = DicomTag(0x0018, 0x6011)
    static let studyInstanceUID = DicomTag(0x0020, 0x000D)
    static let seriesInstanceUID = DicomTag(0x0020, 0x000E)
    static let samplesPerPixel = DicomTag(0x0028, 0x0002)
    static let photometricInterpretation = DicomTag(0x0028, 0x0004)
    static let planarConfiguration = DicomTag(0x0028, 0x0006)
    static let numberOfFrames = DicomTag(0x0028, 0x0008)
    static let rows = DicomTag(0x0028, 0x0010)
    static let columns = DicomTag(0x0028, 0x0011)
    static let bitsAllocated = DicomTag(0x0028, 0x0100)
    static let bitsStored = DicomTag(0x0028, 0x0101)
    static let highBit = DicomTag(0x0028, 0x0102)
    static let pixelRepresentation = DicomTag(0x0028, 0x0103)
    static let redPaletteDescriptor = DicomTag(0x0028, 0x1101)
    static let greenPaletteDescriptor = DicomTag(0x0028, 0x1102)
    static let bluePaletteDescriptor = DicomTag(0x0028, 0x1103)
    static let redPaletteData = DicomTag(0x0028, 0x1201)
    static let greenPaletteData = DicomTag(0x0028, 0x1202)
    static let bluePaletteData = DicomTag(0x0028, 0x1203)
    static let segmentedRedPaletteData = DicomTag(0x0028, 0x1221)
    static let pixelData = DicomTag(0x7FE0, 0x0010)
}
