import Foundation
import Support

/// Identifiers that cannot be traced back to a patient without the site's secret salt:
/// `HMAC-SHA-256(salt, kind + ":" + value)`, hex, truncated.
public struct SaltedHasher: Sendable {
    public let salt: [UInt8]

    public init(salt: [UInt8]) { self.salt = salt }

    /// The salted hash that stands for a source path in resume records (never the path itself).
    public func sourcePath(_ relativePath: String) -> String { hash(relativePath, kind: "source-path", length: 24) }

    public func hash(_ value: String, kind: String, length: Int = 16) -> String {
        let digest = SHA256.hmac(key: salt, message: Array("\(kind):\(value)".utf8))
        return String(SHA256.hex(digest).prefix(length))
    }

    /// Loads the salt from `url`, creating a random 32-byte salt (mode 0600) the first time.
    public static func loadOrCreateSalt(at url: URL) throws -> [UInt8] {
        if let data = try? Data(contentsOf: url), data.count >= 16 {
            return Array(data)
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for k in bytes.indices { bytes[k] = UInt8.random(in: 0...255, using: &generator) }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw IngestError.io("cannot create the salt file \(url.path)")
        }
        return bytes
    }
}
