import Foundation

/// The taxonomy a dataset's class indices come from.
public struct DatasetTaxonomy: Codable, Sendable, Equatable {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// How a dataset was split: the split seed, method, fractions and the grouping unit.
public struct DatasetSplitSettings: Codable, Sendable, Equatable {
    public var seed: Int
    public var method: String
    public var fractions: [String: Double]
    public var groupedBy: String

    public init(seed: Int, method: String, fractions: [String: Double], groupedBy: String) {
        self.seed = seed
        self.method = method
        self.fractions = fractions
        self.groupedBy = groupedBy
    }

    enum CodingKeys: String, CodingKey {
        case seed, method, fractions
        case groupedBy = "grouped_by"
    }
}
