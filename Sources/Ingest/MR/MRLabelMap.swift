import Foundation
import Support

/// A site's raw label value -> canonical class map for label volumes. Keys are integers
/// (written as YAML keys); targets are canonical class names, `background`, or IGNORE. The
/// raw value 0 is background at every site (listing it is allowed, mapping it elsewhere is
/// not). Many values may map to one class.
///
/// Masks hold canonical class indices, and 0 means "none of the classes this site
/// annotates" (`annotatedClasses`): a site that does not annotate the scapula says nothing
/// about where the scapula is.
public struct MRLabelMap: Sendable, Equatable {
    public let taxonomy: Taxonomy
    /// raw value -> canonical class index (0 for background and IGNORE)
    public let indexByValue: [Int32: UInt8]
    /// raw value -> target as written (class name, `background` or IGNORE), for dataset.json.
    public let targets: [Int32: String]
    /// Canonical class indices (> 0) this site annotates, ascending.
    public let annotatedIndices: [Int]

    public init(raw: [String: String], taxonomy: Taxonomy) throws {
        try Self.validate(taxonomy)
        var indexByValue: [Int32: UInt8] = [0: 0]
        var targets: [Int32: String] = [:]
        for key in raw.keys.sorted() {
            guard let value = Int32(key.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigError("label_map key '\(key)' is not an integer label value")
            }
            let target = raw[key]!.trimmingCharacters(in: .whitespaces)
            if let existing = targets[value] {
                throw ConfigError("label_map lists the value \(value) twice ('\(existing)' and '\(target)')")
            }
            let index: UInt8
            if target.uppercased() == LabelMap.ignore {
                index = 0
                targets[value] = LabelMap.ignore
            } else if let classIndex = taxonomy.index(of: target) {
                index = UInt8(classIndex)
                targets[value] = target
            } else {
                throw ConfigError("label_map: \(value) -> '\(target)': '\(target)' is not a class of taxonomy \(taxonomy.name) (\(taxonomy.orderedNames.joined(separator: ", "))) nor IGNORE")
            }
            if value == 0 && index != 0 {
                throw ConfigError("label_map maps 0 to '\(target)': 0 is background in every label volume")
            }
            indexByValue[value] = index
        }
        self.taxonomy = taxonomy
        self.indexByValue = indexByValue
        self.targets = targets
        self.annotatedIndices = Set(indexByValue.values.filter { $0 > 0 }.map(Int.init)).sorted()
        guard !annotatedIndices.isEmpty else {
            throw ConfigError("label_map maps no value to a class other than background: the site annotates nothing")
        }
    }

    /// A segmentation taxonomy: index 0 is `background`, at most 255 classes (uint8 masks).
    public static func validate(_ taxonomy: Taxonomy) throws {
        guard taxonomy.classes.first(where: { $0.index == 0 })?.name == "background" else {
            throw ConfigError("taxonomy \(taxonomy.name): class 0 must be 'background' for label volumes")
        }
        guard taxonomy.classes.count <= 256 else {
            throw ConfigError("taxonomy \(taxonomy.name): at most 256 classes fit in uint8 masks")
        }
    }

    public var annotatedClasses: [String] { annotatedIndices.map { taxonomy.orderedNames[$0] } }

    /// Canonical classes (other than background) the site does not annotate.
    public var notAnnotatedClasses: [String] {
        taxonomy.orderedNames.enumerated().filter { $0.offset > 0 && !annotatedIndices.contains($0.offset) }.map(\.element)
    }

    /// Maps raw values to canonical indices. Returns the mask and the voxel count of every
    /// value the map does not list (those voxels are 0 in the mask).
    public func apply(_ values: [Int32]) -> (mask: [UInt8], unlisted: [Int32: Int]) {
        // A table for the common small values, the dictionary for the rest.
        var table = [Int16](repeating: -1, count: 256)
        for (value, index) in indexByValue where value >= 0 && value < 256 { table[Int(value)] = Int16(index) }
        var unlisted: [Int32: Int] = [:]
        var mask = [UInt8](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            mask.withUnsafeMutableBufferPointer { m in
                for k in 0..<v.count {
                    let value = v[k]
                    if value >= 0 && value < 256 {
                        let index = table[Int(value)]
                        if index >= 0 { m[k] = UInt8(index) } else { unlisted[value, default: 0] += 1 }
                    } else if let index = indexByValue[value] {
                        m[k] = index
                    } else {
                        unlisted[value, default: 0] += 1
                    }
                }
            }
        }
        return (mask, unlisted)
    }
}
