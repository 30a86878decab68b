/// A binary mask on a 3D grid, in C order over [depth, height, width] (slice, row, column),
/// with the physical size of a voxel along each of those axes in millimetres. Segmentation
/// metrics are computed on these, per volume, so that distances are in millimetres even when
/// the slice thickness differs from the in-plane spacing (3 mm versus 0.91 mm in the paper).
public struct MaskVolume: Sendable, Equatable {
    public let shape: [Int]
    public let spacing: [Double]
    public var voxels: [Bool]

    public init(shape: [Int], spacing: [Double], voxels: [Bool]) throws {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw SegmentationError.invalid("a mask volume needs three positive sizes [depth, height, width], not \(shape)")
        }
        guard spacing.count == 3, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw SegmentationError.invalid("a mask volume needs three positive finite voxel spacings in mm, not \(spacing)")
        }
        guard voxels.count == shape.reduce(1, *) else {
            throw SegmentationError.invalid("\(voxels.count) voxels for a mask volume of shape \(shape)")
        }
        self.shape = shape
        self.spacing = spacing
        self.voxels = voxels
    }

    /// The voxels of `labels` equal to `label` (one structure of a label map).
    public init(labels: [Int], shape: [Int], spacing: [Double], label: Int) throws {
        try self.init(shape: shape, spacing: spacing, voxels: labels.map { $0 == label })
    }

    public var count: Int { voxels.count }
    public var foregroundCount: Int { voxels.reduce(0) { $0 + ($1 ? 1 : 0) } }
    public var isEmpty: Bool { !voxels.contains(true) }
}

/// Errors of the segmentation building blocks: what was wrong, said plainly.
public enum SegmentationError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        }
    }
}
