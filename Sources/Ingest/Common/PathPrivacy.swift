import Support

/// Renders source paths for manifests and reports without identifying the patient
/// (see `PrivacySpec.SourcePaths`).
public struct PathPrivacy: Sendable {
    public let mode: PrivacySpec.SourcePaths
    public let hasher: SaltedHasher

    public init(mode: PrivacySpec.SourcePaths, hasher: SaltedHasher) {
        self.mode = mode
        self.hasher = hasher
    }

    /// - Parameter tokens: identifying strings (PatientIDs, name parts, dates in their written
    ///   forms); path segments containing one are replaced by a hash.
    public func render(_ relativePath: String, tokens: IdentifyingTokens) -> String {
        switch mode {
        case .clear:
            return relativePath
        case .hashed:
            return "h-" + hasher.hash(relativePath, kind: "path", length: 16) + Self.fileExtension(relativePath)
        case .scrubbed:
            let segments = relativePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            return segments.enumerated().map { index, segment in
                guard tokens.occur(in: segment) else { return segment }
                let ext = index == segments.count - 1 ? Self.fileExtension(segment) : ""
                return "h-" + hasher.hash(segment, kind: "path-segment", length: 10) + ext
            }.joined(separator: "/")
        }
    }

    public func render(_ relativePath: String, tokens: [String]) -> String {
        render(relativePath, tokens: IdentifyingTokens(tokens))
    }

    static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, !name[dot...].contains("/") else { return "" }
        let ext = String(name[dot...])
        return ext.count <= 6 ? ext : ""
    }
}

/// Strings that identify patients, gathered from every file of an export, so that a folder
/// named after a patient is hashed in the path of every file under it (also files whose own
/// header could not be read, or that were excluded). Matching is case-insensitive and finds
/// a token anywhere inside a segment, in time independent of how many tokens there are.
public struct IdentifyingTokens: Sendable {
    private let tokens: Set<[Character]>
    private let lengths: [Int]

    public init<S: Sequence>(_ strings: S) where S.Element == String {
        tokens = Set(strings.filter { !$0.isEmpty }.map { Array($0.lowercased()) })
        lengths = Set(tokens.map(\.count)).sorted()
    }

    /// Whether `segment` contains one of the tokens.
    public func occur(in segment: String) -> Bool {
        let characters = Array(segment.lowercased())
        for start in characters.indices {
            for length in lengths {
                guard start + length <= characters.count else { break }
                if tokens.contains(Array(characters[start..<(start + length)])) { return true }
            }
        }
        return false
    }
}
