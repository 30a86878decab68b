import DataLoading
import Datasets
import Foundation
import TensorCore

/// One split of a converted MR site (`medcil convert mr`) in memory: slices [N, 1, H, W], their
/// masks in the site's own label space (background 0, then the site's annotated structures
/// 1, 2, ... in canonical order: the output space of the head an increment trains), which
/// slice of which volume each is (hashed volume identifiers, no patient data), and each
/// volume's voxel spacing in mm [slice thickness, row, column] for the 3D metrics.
public struct SliceSet: Sendable {
    public let site: String
    public let split: String
    public let height: Int
    public let width: Int
    /// Structures in label order (label k + 1 is structures[k]).
    public let structures: [String]
    public let references: [SliceReference]
    /// Image values, slice after slice, row-major.
    public let pixels: [Float]
    public let masks: [[Int]]
    public let spacing: [String: [Double]]

    public var count: Int { references.count }
    /// Classes of a head trained on this site: background and the structures.
    public var classes: Int { structures.count + 1 }
    public var volumes: [String] { Array(Set(references.map(\.volume))).sorted() }

    public init(site: String, split: String, height: Int, width: Int, structures: [String], references: [SliceReference],
                pixels: [Float], masks: [[Int]], spacing: [String: [Double]]) {
        self.site = site; self.split = split; self.height = height; self.width = width; self.structures = structures
        self.references = references; self.pixels = pixels; self.masks = masks; self.spacing = spacing
    }

    /// Reads split `split` of the converted site in `folder` (the folder holding dataset.json).
    public static func load(folder: URL, split: String) throws -> SliceSet {
        let dataset: SliceDataset
        do { dataset = try SliceDataset(folder: folder, split: split, labelSpace: .site) } catch {
            throw SegmentationError.invalid("\(folder.path): \(error)")
        }
        guard dataset.count > 0 else { throw SegmentationError.invalid("\(folder.path)/\(split) holds no slices") }
        let description = dataset.description
        let (h, w) = (description.image.height, description.image.width)
        var pixels: [Float] = [], masks: [[Int]] = []
        pixels.reserveCapacity(dataset.count * h * w)
        for index in 0..<dataset.count {
            let sample = try dataset.sample(at: index)
            pixels += sample.pixels
            masks.append(sample.mask!)
        }
        let thicknessAxis = ["sagittal": 0, "coronal": 1, "axial": 2][description.geometry.sliceAxis] ?? 2
        var spacing: [String: [Double]] = [:]
        for (volume, entry) in description.volumes where entry.split == split {
            guard entry.canonicalSpacing.count == 3, entry.sliceSpacing.count == 2 else {
                throw SegmentationError.invalid("\(folder.path)/dataset.json: volume \(volume) lacks its spacing")
            }
            spacing[volume] = [entry.canonicalSpacing[thicknessAxis]] + entry.sliceSpacing
        }
        let references = dataset.slices.map { SliceReference(volume: $0.volume, slice: $0.index) }
        if let missing = references.first(where: { spacing[$0.volume] == nil }) {
            throw SegmentationError.invalid("\(folder.path)/dataset.json does not list volume \(missing.volume) in split \(split)")
        }
        return SliceSet(site: description.site, split: split, height: h, width: w, structures: Array(dataset.classNames.dropFirst()),
                        references: references, pixels: pixels, masks: masks, spacing: spacing)
    }

    /// Split `split` when the site has it (a missing split folder is nil; a broken one an error).
    public static func loadIfPresent(folder: URL, split: String) throws -> SliceSet? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(split).path, isDirectory: &isFolder), isFolder.boolValue,
              !((try? FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(split).path)) ?? []).isEmpty else { return nil }
        return try load(folder: folder, split: split)
    }

    /// The slices of the first `count` volumes (in identifier order): Case 2's single
    /// annotated volume.
    public func firstVolumes(_ count: Int) throws -> SliceSet {
        let kept = Set(volumes.prefix(count))
        guard !kept.isEmpty else { throw SegmentationError.invalid("\(site)/\(split) has no volumes to keep") }
        return subset(references.indices.filter { kept.contains(references[$0].volume) })
    }

    /// The slices at `indices`, in that order.
    public func subset(_ indices: [Int]) -> SliceSet {
        let size = height * width
        var values: [Float] = []
        values.reserveCapacity(indices.count * size)
        for i in indices { values += pixels[(i * size)..<((i + 1) * size)] }
        let kept = Set(indices.map { references[$0].volume })
        return SliceSet(site: site, split: split, height: height, width: width, structures: structures,
                        references: indices.map { references[$0] }, pixels: values, masks: indices.map { masks[$0] },
                        spacing: spacing.filter { kept.contains($0.key) })
    }

    /// Image i as [1, H, W] values.
    public func image(_ i: Int) -> [Float] { Array(pixels[(i * height * width)..<((i + 1) * height * width)]) }

    /// All slices as one tensor [N, 1, H, W].
    public var tensor: Tensor { Tensor(pixels, shape: [count, 1, height, width]) }

    /// Pixel counts per label 0..<classes over all masks.
    public func pixelCounts() throws -> [Int] { try SegmentationLosses.pixelCounts(masks: masks, classes: classes) }
}
