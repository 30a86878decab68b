import Foundation

/// A shell-style path pattern over `/`-separated relative paths: `*` matches within one
/// path segment, `**` across segments (including none), `?` one character, `[abc]` a set.
/// Patterns without a `/` match the file name in any folder (`*.csv` = `**/*.csv`).
public struct Glob: Sendable, CustomStringConvertible {
    public let pattern: String
    private let regex: NSRegularExpression

    public init(_ pattern: String) throws {
        self.pattern = pattern
        let effective = pattern.contains("/") ? pattern : "**/" + pattern
        var out = "^"
        var chars = Array(effective)
        var k = 0
        while k < chars.count {
            let c = chars[k]
            switch c {
            case "*":
                if k + 1 < chars.count && chars[k + 1] == "*" {
                    // "**/" matches zero or more whole segments; a trailing "**" matches the rest.
                    if k + 2 < chars.count && chars[k + 2] == "/" {
                        out += "(?:[^/]*/)*"
                        k += 3
                        continue
                    }
                    out += ".*"
                    k += 2
                    continue
                }
                out += "[^/]*"
            case "?": out += "[^/]"
            case "[":
                if let close = chars[(k + 1)...].firstIndex(of: "]") {
                    var set = String(chars[(k + 1)..<close])
                    if set.hasPrefix("!") { set = "^" + set.dropFirst() }
                    out += "[" + set.replacingOccurrences(of: "\\", with: "\\\\") + "]"
                    k = close + 1
                    continue
                }
                out += "\\["
            default:
                out += NSRegularExpression.escapedPattern(for: String(c))
            }
            k += 1
        }
        out += "$"
        chars = []
        do {
            regex = try NSRegularExpression(pattern: out)
        } catch {
            throw ConfigError("bad glob pattern '\(pattern)'")
        }
    }

    public func matches(_ path: String) -> Bool {
        regex.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
    }

    public var description: String { pattern }
}
