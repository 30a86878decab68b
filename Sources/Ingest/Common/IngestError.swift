/// Errors that stop a whole ingestion run (unmapped labels under the `error` policy,
/// unwritable output; a bad configuration throws `ConfigError`). Problems with single input files do not throw:
/// they become that file's fate in the report.
public enum IngestError: Error, CustomStringConvertible, Equatable {
    case unmappedLabels([String: Int])
    case io(String)
    /// A setting that would put the salt or the resume records into the shared output.
    case privacy(String)
    /// A sharded conversion's plan or parts are missing, stale or failed.
    case parts(String)

    public var description: String {
        switch self {
        case .io(let why): return "I/O error: \(why)"
        case .privacy(let why): return "privacy: \(why)"
        case .parts(let why): return why
        case .unmappedLabels(let counts):
            let list = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "  '\($0.key)': \($0.value) file\($0.value == 1 ? "" : "s")" }.joined(separator: "\n")
            return "\(counts.count) raw label\(counts.count == 1 ? " is" : "s are") not in the site's label map (unmapped: error). " +
                "Add them to label_map (to a canonical class or IGNORE), or set unmapped: skip:\n\(list)"
        }
    }
}
