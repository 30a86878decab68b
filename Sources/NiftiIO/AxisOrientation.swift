/// Which world axis each voxel axis runs along, and in which direction: nibabel's
/// `io_orientation` / `aff2axcodes` semantics, so that MedCIL and nibabel name the same
/// file's orientation the same way (`("L", "A", "S")` for a radiological axial volume).
public struct AxisOrientation: Equatable, Sendable, Codable {
    /// For voxel axis i: the world axis (0 = x, 1 = y, 2 = z) it runs closest to.
    public var worldAxis: [Int]
    /// For voxel axis i: +1 when increasing i goes towards +world (R, A, S), -1 otherwise.
    public var direction: [Int]

    public init(worldAxis: [Int], direction: [Int]) {
        self.worldAxis = worldAxis
        self.direction = direction
    }

    /// The identity: voxel axes already run along R, A, S.
    public static let ras = AxisOrientation(worldAxis: [0, 1, 2], direction: [1, 1, 1])

    /// The orientation of an affine's voxel axes. Follows nibabel's `io_orientation` (5.4):
    /// the columns are normalised by their lengths, the closest orthogonal matrix R is taken
    /// (polar decomposition), and each voxel axis in turn, the most clearly aligned first,
    /// claims the world axis where its column of R is largest in magnitude (ties: the
    /// first), which is then removed from consideration. Throws when a voxel axis has no
    /// direction (a zero column).
    public init(affine: Affine) throws(NiftiError) {
        guard affine.isFinite else { throw .badHeader("the affine has non-finite values") }
        var rs = affine.linear
        let zooms = affine.zooms
        for c in 0..<3 where zooms[c] != 0 {
            for r in 0..<3 { rs[r * 3 + c] /= zooms[c] }
        }
        var r = PolarDecomposition.orthogonalFactor(rs)
        var worldAxis = [Int](repeating: -1, count: 3)
        var direction = [Int](repeating: 0, count: 3)
        // nibabel >= 5.3 assigns the voxel axes from strongest to weakest (largest squared
        // element of the column first, stable on ties), so that a volume gets the same labels
        // whatever order its axes are stored in.
        let strength = (0..<3).map { c in (0..<3).map { r[$0 * 3 + c] * r[$0 * 3 + c] }.max()! }
        let order = (0..<3).sorted { strength[$0] != strength[$1] ? strength[$0] > strength[$1] : $0 < $1 }
        for axis in order {
            let column = (0..<3).map { r[$0 * 3 + axis] }
            guard column.contains(where: { abs($0) > 1e-8 }) else {
                throw .badHeader("voxel axis \(axis) has no direction in the affine (degenerate or singular affine)")
            }
            var best = 0
            for k in 1..<3 where abs(column[k]) > abs(column[best]) { best = k }
            worldAxis[axis] = best
            direction[axis] = column[best] < 0 ? -1 : 1
            for c in 0..<3 { r[best * 3 + c] = 0 }
        }
        self.init(worldAxis: worldAxis, direction: direction)
    }

    /// nibabel's axis codes: the world direction each voxel axis increases towards, e.g.
    /// `["L", "A", "S"]` (labels L/R, P/A, I/S).
    public var codes: [String] {
        let labels = [("L", "R"), ("P", "A"), ("I", "S")]
        return (0..<3).map { direction[$0] < 0 ? labels[worldAxis[$0]].0 : labels[worldAxis[$0]].1 }
    }

    public var isCanonical: Bool { self == .ras }
}

/// Reorientation to RAS+ by axis permutation and flips only (no resampling), exactly as
/// nibabel's `as_closest_canonical`: canonical axis o is the stored axis whose orientation
/// points along world axis o, flipped when it runs towards L, P or I. The new affine is the
/// old one times the inverse of that index transform (nibabel's `inv_ornt_aff`), so every
/// voxel keeps its world position.
public struct Reorientation: Equatable, Sendable {
    /// Stored (source) spatial shape [nx, ny, nz].
    public let sourceShape: [Int]
    public let orientation: AxisOrientation
    /// For canonical axis o: the stored axis it comes from.
    public let sourceAxis: [Int]
    /// For canonical axis o: whether the stored axis is read backwards.
    public let flipped: [Bool]

    public init(sourceShape: [Int], orientation: AxisOrientation) {
        precondition(sourceShape.count == 3)
        self.sourceShape = sourceShape
        self.orientation = orientation
        var source = [Int](repeating: 0, count: 3)
        var flip = [Bool](repeating: false, count: 3)
        for axis in 0..<3 {
            source[orientation.worldAxis[axis]] = axis
            flip[orientation.worldAxis[axis]] = orientation.direction[axis] < 0
        }
        sourceAxis = source
        flipped = flip
    }

    /// Canonical spatial shape.
    public var shape: [Int] { sourceAxis.map { sourceShape[$0] } }

    public var isIdentity: Bool { orientation.isCanonical }

    /// The canonical affine: `affine * inv_ornt_aff(ornt, shape)`.
    public func canonicalAffine(_ affine: Affine) -> Affine {
        if isIdentity { return affine }
        // undo_reorder = eye(4)[[ornt[:,0]..., 3], :]; undo_flip = diag(flips, 1) with the
        // centre-preserving translation; result = undo_flip * undo_reorder.
        var reorder = [Double](repeating: 0, count: 16)
        for axis in 0..<3 { reorder[axis * 4 + orientation.worldAxis[axis]] = 1 }
        reorder[15] = 1
        var flip = [Double](repeating: 0, count: 16)
        for axis in 0..<3 {
            let d = Double(orientation.direction[axis])
            flip[axis * 5] = d
            let centre = -Double(sourceShape[axis] - 1) / 2
            flip[axis * 4 + 3] = d * centre - centre
        }
        flip[15] = 1
        return affine * (Affine(elements: flip) * Affine(elements: reorder))
    }

    /// Signed strides and start offset into the stored (x-fastest) array for walking the
    /// canonical array in x-fastest order.
    @usableFromInline
    var strides: (offset: Int, steps: [Int]) {
        let sourceStride = [1, sourceShape[0], sourceShape[0] * sourceShape[1]]
        var offset = 0
        var steps = [Int](repeating: 0, count: 3)
        for o in 0..<3 {
            let a = sourceAxis[o]
            if flipped[o] {
                offset += (sourceShape[a] - 1) * sourceStride[a]
                steps[o] = -sourceStride[a]
            } else {
                steps[o] = sourceStride[a]
            }
        }
        return (offset, steps)
    }

    /// Applies the permutation and flips to one 3D block stored x-fastest. (Inlinable so that
    /// callers get a loop specialised for their element type.)
    @inlinable
    public func apply<T>(_ source: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<T>) {
        let (offset, steps) = strides
        let n = shape
        precondition(source.count >= n[0] * n[1] * n[2] && out.count >= n[0] * n[1] * n[2])
        var index = 0
        for k in 0..<n[2] {
            let baseK = offset + k * steps[2]
            for j in 0..<n[1] {
                var s = baseK + j * steps[1]
                let step = steps[0]
                for _ in 0..<n[0] {
                    out[index] = source[s]
                    s += step
                    index += 1
                }
            }
        }
    }
}
