import Foundation
import Yams

/// Reads YAML configs into `Codable` structs with readable errors, and writes resolved
/// configs back as YAML.
public enum ConfigLoader {
    public static func load<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ConfigError("cannot read \(url.path)")
        }
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch {
            throw ConfigError("\(url.lastPathComponent): \(describe(error))")
        }
    }

    /// A config read over `base`: a key the file sets replaces base's, mappings merge key by
    /// key, so a file names only what it changes (precedence: command line, then the file,
    /// then `base`, the defaults).
    public static func load<T: Codable>(_ type: T.Type, from url: URL, over base: T) throws -> T {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ConfigError("cannot read \(url.path)")
        }
        do {
            guard let overlay = try Yams.compose(yaml: text) else { return base }
            guard let defaults = try Yams.compose(yaml: try yaml(base)) else { return try YAMLDecoder().decode(T.self, from: text) }
            let value = try YAMLDecoder().decode(T.self, from: try Yams.serialize(node: merged(defaults, overlay)))
            // A key the decoder did not use (a typo such as `epocs`) is gone from the resolved
            // config: name it rather than run with the default.
            if let resolved = try Yams.compose(yaml: try yaml(value)) {
                let unused = unusedKeys(overlay, resolved)
                if !unused.isEmpty {
                    throw ConfigError("unknown key\(unused.count == 1 ? "" : "s") \(unused.map { "'\($0)'" }.joined(separator: ", "))")
                }
            }
            return value
        } catch {
            throw ConfigError("\(url.lastPathComponent): \(describe(error))")
        }
    }

    /// `overlay` over `base`: mappings merge recursively, anything else is replaced.
    static func merged(_ base: Node, _ overlay: Node) -> Node {
        guard case .mapping(var result) = base, case .mapping(let changes) = overlay else { return overlay }
        for (key, value) in changes {
            guard let name = key.string else { continue }
            result[name] = result[name].map { merged($0, value) } ?? value
        }
        return .mapping(result)
    }

    /// Dotted paths of the keys of `overlay` that `resolved` lacks (explicit nulls excepted).
    static func unusedKeys(_ overlay: Node, _ resolved: Node, path: String = "") -> [String] {
        guard case .mapping(let changes) = overlay else { return [] }
        let known = resolved.mapping
        var unused: [String] = []
        for (key, value) in changes {
            guard let name = key.string else { continue }
            let here = path.isEmpty ? name : "\(path).\(name)"
            if let target = known?[name] {
                unused += unusedKeys(value, target, path: here)
            } else if value.null == nil {
                let siblings = known.map { $0.keys.compactMap(\.string).sorted() } ?? []
                unused.append(here + (siblings.isEmpty ? "" : " (known: \(siblings.joined(separator: ", ")))"))
            }
        }
        return unused
    }

    /// YAML with sorted keys, so that the same config always gives the same bytes.
    public static func yaml<T: Encodable>(_ value: T) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(value)
    }

    /// Turns a DecodingError into "at frames.mode: 'evenly' is not one of all, even, clips".
    public static func describe(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else {
            if let config = error as? ConfigError { return config.message }
            return "\(error)"
        }
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch decoding {
        case .keyNotFound(let key, let context):
            let at = path(context.codingPath)
            return "missing key '\(key.stringValue)'\(at.isEmpty ? "" : " in \(at)")"
        case .typeMismatch(let type, let context):
            return "at \(path(context.codingPath)): expected \(type); \(context.debugDescription)"
        case .valueNotFound(_, let context):
            return "at \(path(context.codingPath)): missing value"
        case .dataCorrupted(let context):
            // Yams wraps errors thrown while decoding (ours among them) as "not valid YAML".
            if let underlying = context.underlyingError { return describe(underlying) }
            let at = path(context.codingPath)
            return (at.isEmpty ? "" : "at \(at): ") + context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// A config that cannot be read: the file, and what is wrong with it. Every kind of config
/// (converters, training settings, taxonomies) reports through this type, so a typo in a
/// training config is not reported as an ingestion error.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "configuration error: \(message)" }
}

/// Coding key for checking that a YAML mapping has no unknown keys (typos must not be
/// silently ignored in a site's converter).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

extension CodingKey where Self: CaseIterable {
    /// The YAML spelling of every key, for `rejectUnknownKeys`.
    public static var allKeys: [String] { allCases.map(\.stringValue) }
}

extension Decoder {
    /// Throws when the mapping has keys outside `allowed`.
    public func rejectUnknownKeys(_ allowed: [String], in section: String) throws {
        let container = try container(keyedBy: AnyKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }
        if !unknown.isEmpty {
            throw ConfigError("unknown key\(unknown.count == 1 ? "" : "s") \(unknown.sorted().map { "'\($0)'" }.joined(separator: ", ")) in \(section) (known: \(allowed.joined(separator: ", ")))")
        }
    }
}

/// A string enum that lists its values when a config has an unknown one.
public protocol ConfigEnum: RawRepresentable, CaseIterable, Codable where RawValue == String {}

public extension ConfigEnum {
    init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw ConfigError("'\(raw)' is not one of \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = value
    }
}
