import DicomIO
import Foundation
import Support

/// Reads raw labels from where a site keeps them: a DICOM attribute, a CSV sheet, or the
/// file's path.
public struct LabelReader: Sendable {
    public let spec: LabelSourceSpec
    private let tag: DicomTag?
    private let table: [String: String]
    private let regex: NSRegularExpression?

    /// - Parameter inputRoot: folder the CSV path is relative to (when not absolute).
    public init(spec: LabelSourceSpec, inputRoot: URL) throws {
        self.spec = spec
        switch spec.source {
        case .tag:
            guard let keyword = spec.tag, let found = DicomTag(keyword: keyword) else {
                throw ConfigError("label.tag '\(spec.tag ?? "")' is not a DICOM keyword or tag")
            }
            tag = found; table = [:]; regex = nil
        case .csv:
            let path = spec.csv!
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : inputRoot.appendingPathComponent(path)
            let csv = try CSVTable(contentsOf: url)
            guard let keyColumn = csv.column(spec.keyColumn!), let labelColumn = csv.column(spec.labelColumn!) else {
                throw ConfigError("label CSV \(url.lastPathComponent) needs columns '\(spec.keyColumn!)' and '\(spec.labelColumn!)' (has \(csv.header.joined(separator: ", ")))")
            }
            var entries: [String: String] = [:]
            for row in csv.rows where row.count > max(keyColumn, labelColumn) {
                let key = spec.key == .sopInstanceUID ? row[keyColumn].trimmingCharacters(in: .whitespaces) : Self.normalizePath(row[keyColumn])
                entries[key] = row[labelColumn]
            }
            tag = nil; table = entries; regex = nil
        case .path:
            tag = nil; table = [:]
            regex = try NSRegularExpression(pattern: spec.pattern!)
        }
    }

    /// Whether the label needs the DICOM header (otherwise the path is enough).
    public var needsHeader: Bool { spec.source == .tag || (spec.source == .csv && spec.key == .sopInstanceUID) }

    static func normalizePath(_ path: String) -> String {
        var p = path.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\", with: "/")
        while p.hasPrefix("./") { p.removeFirst(2) }
        while p.hasPrefix("/") { p.removeFirst() }
        return p
    }

    /// The raw label, or a reason why there is none.
    public func label(relativePath: String, dataset: DicomItem?) -> Result<String, LabelMissing> {
        switch spec.source {
        case .tag:
            guard let dataset, let tag, let value = dataset.string(tag) else {
                return .failure(LabelMissing(description: "no \(spec.tag!) value to take the label from"))
            }
            return .success(value)
        case .csv:
            let key: String
            if spec.key == .sopInstanceUID {
                guard let uid = dataset?.string(.sopInstanceUID) else {
                    return .failure(LabelMissing(description: "no SOPInstanceUID to look up in the label sheet"))
                }
                key = uid
            } else {
                key = Self.normalizePath(relativePath)
            }
            guard let value = table[key], !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                return .failure(LabelMissing(description: "not listed in the label sheet \(spec.csv!)"))
            }
            return .success(value)
        case .path:
            let range = NSRange(relativePath.startIndex..., in: relativePath)
            guard let regex, let match = regex.firstMatch(in: relativePath, range: range) else {
                return .failure(LabelMissing(description: "the path does not match label.pattern"))
            }
            var captured = match.range(withName: "label")
            if captured.location == NSNotFound { captured = match.numberOfRanges > 1 ? match.range(at: 1) : match.range }
            guard captured.location != NSNotFound, let swiftRange = Range(captured, in: relativePath) else {
                return .failure(LabelMissing(description: "label.pattern matched without a label group"))
            }
            return .success(String(relativePath[swiftRange]))
        }
    }
}

public struct LabelMissing: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// What the header scan learns about one input file, before any pixel is decoded.
public struct ScannedFile: Codable, Sendable {
    public var input: InputFile
    /// Why the file cannot be used (not DICOM, unreadable, no label ...), or nil.
    public var failure: String?
    public var rawLabel: String?
    /// Patient grouping key for splits (PatientID, else StudyInstanceUID, else the path);
    /// kept in memory only, never written.
    public var patientKey: String
    public var patientKeySource: String
    public var studyUID: String?
    public var seriesUID: String?
    public var sopUID: String?
    /// Strings that identify the patient, for scrubbing paths in outputs.
    public var identifyingTokens: [String]
    /// Frames x rows x columns from the header: the work a part balances.
    public var estimatedWork = 0
}

public enum HeaderScan {
    /// The header dates that may stand in folder and file names: birth, study, series,
    /// acquisition and content dates.
    static let dateTags = [DicomTag.patientBirthDate, .studyDate, DicomTag(0x0008, 0x0021), DicomTag(0x0008, 0x0022), DicomTag(0x0008, 0x0023)]

    /// Reads the header of one file (pixel data stays on disk).
    public static func scan(_ input: InputFile, labels: LabelReader, limits: DicomLimits = .standard) -> ScannedFile {
        var result = ScannedFile(input: input, failure: nil, rawLabel: nil, patientKey: "file:" + input.relativePath,
                                 patientKeySource: "file", studyUID: nil, seriesUID: nil, sopUID: nil, identifyingTokens: [])
        let file: DicomFile
        do {
            file = try DicomFile(path: input.url.path)
        } catch {
            result.failure = "\(error)"
            return result
        }
        let ds = file.dataset
        // Decodability is checked now (transfer syntax, pixel module, frames present), without
        // decoding, so that files that cannot convert take no place in the patient splits.
        do {
            let decoder = try FrameDecoder(file: file, limits: limits)
            result.estimatedWork = WorkEstimate.product([decoder.frameCount, decoder.rows, decoder.columns])
        } catch {
            result.failure = "\(error)"
            return result
        }
        result.studyUID = ds.string(.studyInstanceUID)
        result.seriesUID = ds.string(.seriesInstanceUID)
        result.sopUID = ds.string(.sopInstanceUID)
        if let patient = ds.string(.patientID) {
            result.patientKey = "patient:" + patient
            result.patientKeySource = "PatientID"
        } else if let study = result.studyUID {
            result.patientKey = "study:" + study
            result.patientKeySource = "StudyInstanceUID"
        }
        var tokens: [String] = []
        if let id = ds.string(.patientID), id.count >= 3 { tokens.append(id) }
        if let name = ds.string(.patientName) {
            tokens += name.split(whereSeparator: { "^= ,".contains($0) }).map(String.init).filter { $0.count >= 3 }
        }
        for tag in HeaderScan.dateTags {
            if let date = ds.string(tag) { tokens += DateForms.writtenForms(ofDICOMDate: date) }
        }
        result.identifyingTokens = tokens
        switch labels.label(relativePath: input.relativePath, dataset: ds) {
        case .success(let value): result.rawLabel = value
        case .failure(let missing): result.failure = "no label: \(missing.description)"
        }
        return result
    }
}
