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

    /// - Parameter tokens: identifying strings from the file's header (PatientID, name
    ///   parts, dates); path segments containing one are replaced by a hash.
    public func render(_ relativePath: String, tokens: [String]) -> String {
        switch mode {
        case .clear:
            return relativePath
        case .hashed:
            return "h-" + hasher.hash(relativePath, kind: "path", length: 16) + Self.fileExtension(relativePath)
        case .scrubbed:
            let lowered = tokens.map { $0.lowercased() }
            let segments = relativePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            return segments.enumerated().map { index, segment in
                let lower = segment.lowercased()
                guard lowered.contains(where: { !$0.isEmpty && lower.contains($0) }) else { return segment }
                let ext = index == segments.count - 1 ? Self.fileExtension(segment) : ""
                return "h-" + hasher.hash(segment, kind: "path-segment", length: 10) + ext
            }.joined(separator: "/")
        }
    }

    static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex, !name[dot...].contains("/") else { return "" }
        let ext = String(name[dot...])
        return ext.count <= 6 ? ext : ""
    }
}
