import Foundation
import Support

/// Which files under --input are read. Globs are matched against paths relative to the
/// input folder; files not included, or excluded, are listed in the report as excluded.
public struct InputSpec: Codable, Sendable, Equatable {
    public var include: [String] = ["**"]
    public var exclude: [String] = ["*.csv", "*.txt", "*.json", "*.yaml", "*.yml", "DICOMDIR", ".*"]

    enum CodingKeys: String, CodingKey, CaseIterable { case include, exclude }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "input")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = InputSpec()
        include = try c.decodeIfPresent([String].self, forKey: .include) ?? defaults.include
        exclude = try c.decodeIfPresent([String].self, forKey: .exclude) ?? defaults.exclude
    }
}

/// Patient-level splits.
public struct SplitSpec: Codable, Sendable, Equatable {
    public enum Method: String, ConfigEnum, Sendable {
        /// Exact fractions over patients, balancing classes across splits (small datasets).
        case balanced
        /// Each patient's split depends only on a hash of its key: stable when more data
        /// arrives later (large, growing exports).
        case hash
    }

    public var seed: Int = 10
    public var method: Method = .balanced
    public var train: Double = 0.7
    public var val: Double = 0.15
    public var test: Double = 0.15

    enum CodingKeys: String, CodingKey, CaseIterable { case seed, method, train, val, test }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "split")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed) ?? 10
        method = try c.decodeIfPresent(Method.self, forKey: .method) ?? .balanced
        train = try c.decodeIfPresent(Double.self, forKey: .train) ?? 0.7
        val = try c.decodeIfPresent(Double.self, forKey: .val) ?? 0.15
        test = try c.decodeIfPresent(Double.self, forKey: .test) ?? 0.15
    }

    public var fractions: [(String, Double)] { [("train", train), ("val", val), ("test", test)] }

    public func validate() throws {
        guard train >= 0, val >= 0, test >= 0, abs(train + val + test - 1) < 1e-6, train > 0 else {
            throw ConfigError("split fractions must be non-negative, train > 0, and sum to 1 (got \(train), \(val), \(test))")
        }
    }
}

public struct PrivacySpec: Codable, Sendable, Equatable {
    public enum SourcePaths: String, ConfigEnum, Sendable {
        /// Relative paths as they are.
        case clear
        /// Path segments that contain the file's PatientID, a part of PatientName or a date
        /// of the study or of birth are replaced by a salted hash.
        case scrubbed
        /// Every path replaced by a salted hash.
        case hashed
    }

    public var sourcePaths: SourcePaths = .scrubbed
    /// Secret salt for identifiers (default: `<out>/.medcil/salt`, created on first use).
    public var saltFile: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case sourcePaths = "source_paths"
        case saltFile = "salt_file"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allKeys, in: "privacy")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sourcePaths = try c.decodeIfPresent(SourcePaths.self, forKey: .sourcePaths) ?? .scrubbed
        saltFile = try c.decodeIfPresent(String.self, forKey: .saltFile)
    }
}

/// The keys every site converter has (echo and MR alike), read from the converter's mapping.
struct ConverterHead {
    var site: String
    var dataset: String
    var taxonomy: String
    var input: InputSpec
    var split: SplitSpec
    var privacy: PrivacySpec

    enum CodingKeys: String, CodingKey { case version, site, dataset, taxonomy, input, split, privacy }

    init(from decoder: Decoder, defaultTaxonomy: String) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        guard version == 1 else { throw ConfigError("converter version \(version) is not supported (1)") }
        site = try c.decode(String.self, forKey: .site)
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset) ?? site
        taxonomy = try c.decodeIfPresent(String.self, forKey: .taxonomy) ?? defaultTaxonomy
        input = try c.decodeIfPresent(InputSpec.self, forKey: .input) ?? InputSpec()
        split = try c.decodeIfPresent(SplitSpec.self, forKey: .split) ?? SplitSpec()
        privacy = try c.decodeIfPresent(PrivacySpec.self, forKey: .privacy) ?? PrivacySpec()
    }

    /// The checks every converter makes of its names.
    static func validate(site: String, dataset: String) throws {
        guard !site.isEmpty, !dataset.isEmpty, !dataset.contains("/") else {
            throw ConfigError("site and dataset must be non-empty names without '/'")
        }
    }
}

/// The output size of samples and slices, `[height, width]`: one bound for every converter
/// and for the command line's `--size`.
public enum OutputSize {
    public static let bounds = 8...4096

    /// Throws unless `size` is `[height, width]` within `bounds`.
    public static func validate(_ size: [Int], key: String) throws {
        guard size.count == 2, size.allSatisfy(bounds.contains) else {
            throw ConfigError("\(key) must be [height, width], each \(bounds.lowerBound)...\(bounds.upperBound)")
        }
    }

    /// `112x112` -> [112, 112], or nil when it is not two sizes within `bounds`.
    public static func parse(_ text: String) -> [Int]? {
        let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy(bounds.contains) else { return nil }
        return parts
    }
}
