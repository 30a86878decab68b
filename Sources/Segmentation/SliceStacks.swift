/// Reassembles per-slice label maps (as a 2D network predicts them) into one label volume per
/// MR volume, so that metrics are computed in 3D. Slices are keyed by the volume's hashed
/// identifier (as in the MR shards' file names, `<volume>_<slice>.npy`) and their index along
/// the slice axis; every volume must be complete (indices 0..<n, each once).
public struct SliceStacks: Sendable {
    public let height: Int
    public let width: Int
    private var slices: [String: [Int: [Int]]] = [:]

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// Adds the label map [height * width] of slice `index` of `volume`.
    public mutating func add(volume: String, index: Int, labels: [Int]) throws {
        guard labels.count == height * width else {
            throw SegmentationError.invalid("volume \(volume) slice \(index): \(labels.count) labels for a \(height)x\(width) slice")
        }
        guard index >= 0 else { throw SegmentationError.invalid("volume \(volume): negative slice index \(index)") }
        guard slices[volume]?[index] == nil else {
            throw SegmentationError.invalid("volume \(volume) slice \(index) was given twice")
        }
        slices[volume, default: [:]][index] = labels
    }

    /// The volume identifiers, sorted.
    public var volumes: [String] { slices.keys.sorted() }

    /// The label volume [depth, height, width] of `volume`, slices in index order.
    public func labels(of volume: String) throws -> (labels: [Int], shape: [Int]) {
        guard let stack = slices[volume] else { throw SegmentationError.invalid("no slices of volume \(volume)") }
        let depth = stack.count
        let missing = (0..<depth).filter { stack[$0] == nil }
        guard missing.isEmpty else {
            let indices = stack.keys.sorted()
            throw SegmentationError.invalid("volume \(volume) is incomplete: \(depth) slices with indices \(indices.first!)...\(indices.last!), missing \(missing.prefix(5).map(String.init).joined(separator: ", "))")
        }
        var out: [Int] = []
        out.reserveCapacity(depth * height * width)
        for k in 0..<depth { out += stack[k]! }
        return (out, [depth, height, width])
    }

    /// One structure of `volume` as a mask volume with the given voxel spacing in mm
    /// [slice thickness, row spacing, column spacing].
    public func mask(of volume: String, label: Int, spacing: [Double]) throws -> MaskVolume {
        let (labels, shape) = try labels(of: volume)
        return try MaskVolume(labels: labels, shape: shape, spacing: spacing, label: label)
    }
}
