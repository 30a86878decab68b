/// Any key of a keyed container: lets a strict `init(from:)` list the keys a document has,
/// to name the ones it misspelt instead of silently ignoring them.
public struct AnyCodingKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
