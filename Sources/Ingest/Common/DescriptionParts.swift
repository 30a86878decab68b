import Datasets
import Foundation
import Support

/// The parts of `dataset.json` every converter fills the same way.
extension DatasetTaxonomy {
    init(_ taxonomy: Taxonomy) { self.init(name: taxonomy.name, version: taxonomy.version) }
}

extension DatasetSplitSettings {
    init(_ spec: SplitSpec, groupedBy: String) {
        self.init(seed: spec.seed, method: spec.method.rawValue,
                  fractions: ["train": spec.train, "val": spec.val, "test": spec.test], groupedBy: groupedBy)
    }
}

enum DescriptionParts {
    /// First 16 hex digits of the SHA-256 of what determines the data: the resolved converter
    /// without the salt file's location.
    static func configDigest<Config: ConverterSettings>(_ config: Config) -> String {
        String(SHA256.hex(SHA256.hash(Array((try? StableJSON.encode(config.withoutSaltLocation)) ?? Data()))).prefix(16))
    }

    /// Statistics rounded to 6 decimals, so that dataset.json does not carry float noise.
    static func round6(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    static let createdBy = "medcil \(MedCILVersion.string)"
}
