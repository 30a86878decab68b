import Foundation
import Support

/// A versioned canonical class list (echo views, or anatomy for segmentation). Class
/// indices are the positions models are trained with; every site's labels map onto them.
public struct Taxonomy: Codable, Sendable, Equatable {
    public struct ClassEntry: Codable, Sendable, Equatable {
        public var index: Int
        public var name: String
        public var display: String?
        /// Concept code, where one exists, and its coding scheme (SCT = SNOMED CT, DCM = DICOM).
        public var code: String?
        public var scheme: String?
        /// Where the code comes from (e.g. "DICOM CID 12226", "DCM") and how well it fits.
        public var codeSource: String?
        public var codeMatch: String?
        public var note: String?

        enum CodingKeys: String, CodingKey {
            case index, name, display, code, scheme, note
            case codeSource = "code_source"
            case codeMatch = "code_match"
        }
    }

    public var name: String
    public var version: String
    public var description: String?
    public var classes: [ClassEntry]

    /// Loads and validates: indices must be 0..<n, consecutive and unique, names unique.
    public static func load(from url: URL) throws -> Taxonomy {
        let taxonomy: Taxonomy
        do {
            taxonomy = try ConfigLoader.load(Taxonomy.self, from: url)
        } catch let error as ConfigError {
            throw ConfigError("taxonomy: \(error.message)")
        }
        try taxonomy.validate()
        return taxonomy
    }

    public func validate() throws {
        let indices = classes.map(\.index).sorted()
        guard indices == Array(0..<classes.count) else {
            throw ConfigError("taxonomy \(name): class indices must be 0..\(classes.count - 1), each once; found \(indices)")
        }
        let names = classes.map(\.name)
        guard Set(names).count == names.count else { throw ConfigError("taxonomy \(name): duplicate class names") }
        guard !names.contains(where: { $0.uppercased() == LabelMap.ignore }) else {
            throw ConfigError("taxonomy \(name): '\(LabelMap.ignore)' is reserved")
        }
    }

    /// Class index by canonical name.
    public func index(of name: String) -> Int? { classes.first { $0.name == name }?.index }

    /// Names in index order.
    public var orderedNames: [String] { classes.sorted { $0.index < $1.index }.map(\.name) }
}
