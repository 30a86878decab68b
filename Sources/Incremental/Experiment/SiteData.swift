import DataLoading
import Foundation

/// One converted site as the experiment reads it: its description and its splits, in the
/// site's own label space (for experts and the base classifier) and in the canonical one (for
/// pooled models and evaluation).
public struct SiteData {
    public var name: String
    public var folder: URL
    public var description: ShardDescription
    public var train: ShardDataset, validation: ShardDataset, test: ShardDataset
    public var trainCanonical: ShardDataset, validationCanonical: ShardDataset, testCanonical: ShardDataset

    public init(folder: URL) throws {
        let description = try ShardDescription.load(from: folder)
        self.name = description.site
        self.folder = folder
        self.description = description
        train = try ShardDataset(folder: folder, split: "train", labelSpace: .site)
        validation = try ShardDataset(folder: folder, split: "val", labelSpace: .site)
        test = try ShardDataset(folder: folder, split: "test", labelSpace: .site)
        trainCanonical = try ShardDataset(folder: folder, split: "train")
        validationCanonical = try ShardDataset(folder: folder, split: "val")
        testCanonical = try ShardDataset(folder: folder, split: "test")
    }

    /// The site's classes (canonical names, in the site's label order).
    public var classes: [String] { description.siteClassNames }
}

extension ShardDescription {
    /// The site's classes by canonical name, in the site's label order.
    public var siteClassNames: [String] {
        let names = Dictionary(uniqueKeysWithValues: classes.map { ($1, $0) })
        return siteClassIndices.map { names[$0]! }
    }

    /// Canonical index -> class name.
    public var classNames: [Int: String] { Dictionary(uniqueKeysWithValues: classes.map { ($1, $0) }) }
}

/// The union of `classes` in the taxonomy's order, and the canonical -> output index map of a
/// classifier over that union (Combine & Retrain, fine-tuning).
func classUnion(_ classes: [String], taxonomy: [String: Int]) -> (classes: [String], labelMap: [Int: Int]) {
    let union = Array(Set(classes)).sorted { taxonomy[$0]! < taxonomy[$1]! }
    return (union, Dictionary(uniqueKeysWithValues: union.enumerated().map { (taxonomy[$1]!, $0) }))
}
