/// Overlap and surface-distance scores of one structure in one volume (Ozdemir et al. 2018
/// report Dice and ASSD per structure; HD95 is added as the robust maximum).
///
/// Definitions (P = prediction, R = reference, both voxel sets):
/// - Dice = 2 |P ∩ R| / (|P| + |R|); 1 when both are empty.
/// - Surface ∂X = the voxels of X with at least one 6-connected (face) neighbour outside X;
///   voxels beyond the volume's edge count as outside, so X touching the edge has its surface
///   there (scipy's `X & ~binary_erosion(X, generate_binary_structure(3, 1))`).
/// - d(p, ∂Y) = the Euclidean distance in mm from voxel p's centre to the nearest voxel
///   centre of ∂Y (an exact distance transform with the voxel spacing).
/// - The symmetric surface distances are the multiset A = {d(p, ∂R) : p ∈ ∂P} ∪ {d(r, ∂P) : r ∈ ∂R}.
/// - ASSD = mean of A = (Σ_{p∈∂P} d(p, ∂R) + Σ_{r∈∂R} d(r, ∂P)) / (|∂P| + |∂R|).
/// - HD95 = the 95th percentile of A, linearly interpolated between order statistics
///   (numpy.percentile's default): with A sorted ascending, a_0 ≤ … ≤ a_{n-1}, h = 0.95 (n − 1),
///   HD95 = a_⌊h⌋ + (h − ⌊h⌋)(a_⌊h⌋+1 − a_⌊h⌋).
/// - Empty structures: both empty gives Dice 1, ASSD 0 and HD95 0 (nothing to disagree on);
///   exactly one empty gives Dice 0 and ASSD = HD95 = +infinity (no surface to measure to),
///   which tables print as "inf" and averages over volumes must not hide (see `isFinite`).
public struct StructureScores: Sendable, Equatable, Codable {
    public var dice: Double
    public var assd: Double
    public var hd95: Double
    /// Voxel counts, for the record.
    public var predictedVoxels: Int
    public var referenceVoxels: Int

    public var isFinite: Bool { assd.isFinite && hd95.isFinite }
}

public enum SurfaceMetrics {
    /// Dice, ASSD and HD95 of `prediction` against `reference` (same shape and spacing).
    public static func scores(prediction: MaskVolume, reference: MaskVolume) throws -> StructureScores {
        guard prediction.shape == reference.shape else {
            throw SegmentationError.invalid("prediction of shape \(prediction.shape) against a reference of shape \(reference.shape)")
        }
        guard prediction.spacing == reference.spacing else {
            throw SegmentationError.invalid("prediction with spacing \(prediction.spacing) mm against a reference with spacing \(reference.spacing) mm")
        }
        let p = prediction.foregroundCount, r = reference.foregroundCount
        var both = 0
        for i in 0..<prediction.count where prediction.voxels[i] && reference.voxels[i] { both += 1 }
        let dice = p + r == 0 ? 1 : 2 * Double(both) / Double(p + r)
        if p == 0 && r == 0 { return StructureScores(dice: dice, assd: 0, hd95: 0, predictedVoxels: 0, referenceVoxels: 0) }
        if p == 0 || r == 0 {
            return StructureScores(dice: dice, assd: .infinity, hd95: .infinity, predictedVoxels: p, referenceVoxels: r)
        }
        let distances = symmetricSurfaceDistances(prediction, reference)
        let mean = distances.reduce(0, +) / Double(distances.count)
        return StructureScores(dice: dice, assd: mean, hd95: percentile(distances, 95), predictedVoxels: p, referenceVoxels: r)
    }

    /// The multiset A of the definition above (both masks non-empty).
    public static func symmetricSurfaceDistances(_ a: MaskVolume, _ b: MaskVolume) -> [Double] {
        let surfaceA = surface(a), surfaceB = surface(b)
        let toB = DistanceTransform.euclidean(features: surfaceB, shape: b.shape, spacing: b.spacing)
        let toA = DistanceTransform.euclidean(features: surfaceA, shape: a.shape, spacing: a.spacing)
        var out: [Double] = []
        for i in 0..<a.count where surfaceA[i] { out.append(toB[i]) }
        for i in 0..<b.count where surfaceB[i] { out.append(toA[i]) }
        return out
    }

    /// The surface voxels (6-connectivity, outside the volume = background).
    public static func surface(_ mask: MaskVolume) -> [Bool] {
        let (d, h, w) = (mask.shape[0], mask.shape[1], mask.shape[2])
        let v = mask.voxels
        var out = [Bool](repeating: false, count: v.count)
        for z in 0..<d {
            for y in 0..<h {
                for x in 0..<w {
                    let i = (z * h + y) * w + x
                    guard v[i] else { continue }
                    out[i] = z == 0 || z == d - 1 || y == 0 || y == h - 1 || x == 0 || x == w - 1
                        || !v[i - h * w] || !v[i + h * w] || !v[i - w] || !v[i + w] || !v[i - 1] || !v[i + 1]
                }
            }
        }
        return out
    }

    /// The q-th percentile with linear interpolation between order statistics (numpy's default).
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty, "percentile of no values")
        let sorted = values.sorted()
        let h = q / 100 * Double(sorted.count - 1)
        let lower = Int(h.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (h - Double(lower)) * (sorted[upper] - sorted[lower])
    }

    /// Forgetting of an old structure: the drop of its Dice from the model before the
    /// increment to the model after it (positive = forgotten), on the same volume.
    public static func forgetting(diceBefore: Double, diceAfter: Double) -> Double { diceBefore - diceAfter }
}
