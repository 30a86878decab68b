import Foundation

/// The ways a date is commonly written, for finding a header's dates (birth, study) in
/// folder and file names: with or without a separator (`-`, `.`, `/`, `_`, space), year
/// first, day first or month first, with four- or two-digit years, and with separated
/// day and month also unpadded (`4/13/1992`). Built from the header's own dates, so that
/// only those dates are matched, not every number that looks like one.
public enum DateForms {
    static let separators = ["", "-", ".", "/", "_", " "]

    /// The written forms of a DICOM date `YYYYMMDD`; empty when it is not one.
    public static func writtenForms(ofDICOMDate date: String) -> [String] {
        let digits = date.trimmingCharacters(in: .whitespaces)
        guard digits.count == 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let year = Int(digits.prefix(4)), let month = Int(digits.dropFirst(4).prefix(2)), let day = Int(digits.suffix(2)),
              (1...12).contains(month), (1...31).contains(day) else { return [] }
        let years = [String(format: "%04d", year), String(format: "%02d", year % 100)]
        var forms: Set<String> = []
        for y in years {
            for separator in separators {
                // Padded day and month; unpadded only where a separator marks where they end.
                let paddings = separator.isEmpty ? [true] : [true, false]
                for padded in paddings {
                    let m = padded ? String(format: "%02d", month) : String(month)
                    let d = padded ? String(format: "%02d", day) : String(day)
                    forms.insert([y, m, d].joined(separator: separator))
                    forms.insert([d, m, y].joined(separator: separator))
                    forms.insert([m, d, y].joined(separator: separator))
                }
            }
        }
        return forms.sorted()
    }
}
