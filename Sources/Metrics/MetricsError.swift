import Foundation

/// A run folder or prediction file that cannot be read: the path and the reason.
public struct MetricsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads one of MedCIL's JSON descriptions; a missing file or a file of another kind gets an
/// error that says which folder was expected and what writes it.
public func readJSONDescription<T: Decodable>(_ type: T.Type, file: String, in folder: URL, expected: String) throws -> T {
    let url = folder.appendingPathComponent(file)
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw MetricsError("\(folder.path) is not \(expected): it has no readable \(file)")
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch {
        throw MetricsError("\(url.path) is not a \(file) MedCIL can read: \(error)")
    }
}
