/// Voxel values with their grid: a 3D (or 4D and up) array in NIfTI's storage order, x
/// fastest (element (i, j, k, t) at `i + nx * (j + ny * (k + nz * t))`), and the affine
/// that places voxel (i, j, k) in world space.
///
/// Export to numpy uses C order `[x, y, z(, t)]` instead (`cOrderValues`), so that
/// `array[i, j, k]` is voxel (i, j, k), exactly as nibabel's `get_fdata()` indexes it.
public struct Volume<Element>: Sendable where Element: Sendable {
    /// [nx, ny, nz] followed by any further dimensions (time, components).
    public var shape: [Int]
    /// Values, x fastest.
    public var values: [Element]
    public var affine: Affine

    public init(shape: [Int], values: [Element], affine: Affine) {
        precondition(shape.count >= 3, "a volume has at least three dimensions")
        precondition(shape.reduce(1, *) == values.count, "\(values.count) values do not fill shape \(shape)")
        self.shape = shape
        self.values = values
        self.affine = affine
    }

    /// [nx, ny, nz].
    public var spatialShape: [Int] { Array(shape.prefix(3)) }

    /// Number of 3D blocks (the product of the dimensions beyond the third).
    @inlinable
    public var blockCount: Int { shape.dropFirst(3).reduce(1, *) }

    /// True when every dimension beyond the third is 1.
    public var isThreeDimensional: Bool { blockCount == 1 }

    /// Voxel sizes along i, j, k from the affine (millimetres).
    public var spacing: [Double] { affine.zooms }

    /// The orientation of the voxel axes (nibabel's `io_orientation`).
    public func orientation() throws(NiftiError) -> AxisOrientation { try AxisOrientation(affine: affine) }

    /// The same voxels with axes permuted and flipped to RAS+, as nibabel's
    /// `as_closest_canonical`; further dimensions are kept as they are.
    public func canonical() throws(NiftiError) -> Volume<Element> {
        reoriented(Reorientation(sourceShape: spatialShape, orientation: try orientation()))
    }

    @inlinable
    public func reoriented(_ plan: Reorientation) -> Volume<Element> {
        precondition(plan.sourceShape == spatialShape)
        if plan.isIdentity { return self }
        let block = shape[0] * shape[1] * shape[2]
        let out = [Element](unsafeUninitializedCapacity: values.count) { buffer, initialized in
            values.withUnsafeBufferPointer { source in
                for b in 0..<blockCount {
                    plan.apply(UnsafeBufferPointer(rebasing: source[(b * block)..<((b + 1) * block)]),
                               into: UnsafeMutableBufferPointer(rebasing: buffer[(b * block)..<((b + 1) * block)]))
                }
            }
            initialized = values.count
        }
        return Volume(shape: plan.shape + Array(shape.dropFirst(3)), values: out, affine: plan.canonicalAffine(affine))
    }

    /// The values in C order over `shape` (the last dimension fastest): numpy's layout of
    /// the array nibabel returns, `array[i, j, k, ...]` = voxel (i, j, k, ...).
    @inlinable
    public func cOrderValues() -> [Element] {
        let n = shape
        var strides = [Int](repeating: 1, count: n.count)
        for d in 1..<n.count { strides[d] = strides[d - 1] * n[d - 1] }
        return [Element](unsafeUninitializedCapacity: values.count) { buffer, initialized in
            values.withUnsafeBufferPointer { source in
                var index = [Int](repeating: 0, count: n.count)
                let last = n.count - 1
                let lastStride = strides[last]
                var out = 0
                let rows = values.count / max(n[last], 1)
                for _ in 0..<rows {
                    var base = 0
                    for d in 0..<last { base += index[d] * strides[d] }
                    for t in 0..<n[last] { buffer[out] = source[base + t * lastStride]; out += 1 }
                    // advance the multi-index over dimensions 0..<last, the one before last fastest
                    var d = last - 1
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < n[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
            initialized = values.count
        }
    }

    /// Value at voxel (i, j, k) of the first 3D block.
    public subscript(i: Int, j: Int, k: Int) -> Element {
        values[i + shape[0] * (j + shape[1] * k)]
    }
}
