import Foundation
import Support

/// A site's raw label -> canonical class map. Raw labels are compared after
/// normalisation (case folded, surrounding spaces trimmed, inner runs of white space
/// collapsed), so "AP4 ", "ap4" and "AP 4" differ only in the last case. Many raw labels
/// may map to one class; one raw label may not map to two (that is a configuration error).
/// The target `IGNORE` drops a raw label on purpose (listed in the report as ignored).
public struct LabelMap: Sendable, Equatable {
    public static let ignore = "IGNORE"

    public enum Resolution: Equatable, Sendable {
        case mapped(index: Int, name: String)
        case ignored
        case unmapped
    }

    /// normalised raw label -> canonical name (or IGNORE)
    public let entries: [String: String]
    /// normalised raw label -> the raw key as written in the config (for display)
    public let spelledAs: [String: String]
    public let taxonomy: Taxonomy

    public init(raw: [String: String], taxonomy: Taxonomy) throws {
        var entries: [String: String] = [:]
        var spelled: [String: String] = [:]
        for key in raw.keys.sorted() {
            let target = raw[key]!.trimmingCharacters(in: .whitespaces)
            let normalized = Self.normalize(key)
            guard !normalized.isEmpty else { throw ConfigError("label_map has an empty key") }
            let isIgnore = target.uppercased() == Self.ignore
            guard isIgnore || taxonomy.index(of: target) != nil else {
                throw ConfigError("label_map: '\(key)' -> '\(target)': '\(target)' is not a class of taxonomy \(taxonomy.name) (\(taxonomy.orderedNames.joined(separator: ", ")))")
            }
            let canonical = isIgnore ? Self.ignore : target
            if let existing = entries[normalized], existing != canonical {
                throw ConfigError("label_map maps '\(spelled[normalized]!)' and '\(key)' (the same label after normalising case and spaces) to different classes: '\(existing)' and '\(canonical)'")
            }
            entries[normalized] = canonical
            spelled[normalized] = key
        }
        self.entries = entries
        self.spelledAs = spelled
        self.taxonomy = taxonomy
    }

    /// Case-folded, trimmed, inner white space collapsed to single spaces.
    public static func normalize(_ label: String) -> String {
        label.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    public func resolve(_ rawLabel: String) -> Resolution {
        guard let target = entries[Self.normalize(rawLabel)] else { return .unmapped }
        if target == Self.ignore { return .ignored }
        return .mapped(index: taxonomy.index(of: target)!, name: target)
    }

    /// The canonical classes this site can produce.
    public var targetClasses: [String] {
        Set(entries.values.filter { $0 != Self.ignore }).sorted { taxonomy.index(of: $0)! < taxonomy.index(of: $1)! }
    }
}
