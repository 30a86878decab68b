import NiftiIO

/// A phantom MR site: its sequence, which structures it annotates with which raw label
/// values, how its scanner stores volumes (grid, axis order and directions, obliquity,
/// datatype) and how its export is laid out. The three sites mirror the seed work's cases:
/// one study annotated the humerus, another the scapula (label value 1 at both), a third
/// used another sequence (water-saturated Dixon).
public struct MRPhantomSite: Sendable {
    public enum Sequence: String, Sendable {
        case t1 = "T1w"
        case dixonWater = "Dixon water"
    }

    public enum Layout: String, Sendable {
        /// BIDS-like: sub-*/ses-*/anat/*_T1w.nii.gz, labels under derivatives/labels/.
        case bids
        /// nnU-Net raw: imagesTr/<case>_0000.nii.gz and labelsTr/<case>.nii.gz.
        case nnunet
        /// A clinic export: <LAST>_<FIRST>_<BIRTHDATE>/<STUDYDATE>/dixon_water.nii + scapula_mask.nii.gz.
        case clinic
    }

    public enum ImageType: Sendable {
        /// int16 with scl_slope (stored = value / slope).
        case int16(slope: Double)
        case float32
        case uint16
    }

    public let name: String
    public let summary: String
    public let sequence: Sequence
    /// (structure, raw label value) pairs the site's label volumes hold.
    let labels: [(MRShoulderSubject.Structure?, Int)]
    public let layout: Layout
    /// Stored grid: shape, spacing (mm) and, per stored axis, the world axis it runs along
    /// and its direction (before the oblique rotation).
    let shape: [Int]
    let spacing: [Double]
    let axes: [(world: Int, sign: Double)]
    /// Rotation of the acquisition about world x, y, z (degrees).
    let oblique: (Double, Double, Double)
    let imageType: ImageType
    /// Raw intensity scale (scanner units per unit tissue intensity).
    let intensityScale: Double
    let noise: Double
    let labelIsInt16: Bool

    public static let all: [MRPhantomSite] = [a, b, c]

    public static func named(_ name: String) -> MRPhantomSite? { all.first { $0.name == name } }

    /// The raw label values and what they mean, for help texts: "humerus = 1".
    public var labelSummary: String {
        labels.map { "\($0.0.map { "\($0)" } ?? "joint fluid (not in the taxonomy)") = \($0.1)" }.joined(separator: ", ")
    }

    /// Site A (the seed's initial humerus study): T1w axial, stored L-P-S (x and y
    /// flipped), int16 with scl_slope 0.25, BIDS layout with two sessions for some subjects.
    static let a = MRPhantomSite(
        name: "a", summary: "humerus annotated (value 1), T1w axial, axes L-P-S, int16 with scl_slope, BIDS layout",
        sequence: .t1, labels: [(.humerus, 1)], layout: .bids,
        shape: [80, 80, 26], spacing: [2.4, 2.4, 5.0], axes: [(0, -1), (1, -1), (2, 1)], oblique: (0, 0, 0),
        imageType: .int16(slope: 0.25), intensityScale: 1000, noise: 0.025, labelIsInt16: false)

    /// Site B (the seed's scapula study): T1w sagittal-oblique (12 degrees about z, 6 about
    /// y), stored A-I-L, float32, nnU-Net layout.
    static let b = MRPhantomSite(
        name: "b", summary: "scapula annotated (value 1), T1w sagittal oblique, axes A-I-L, float32, nnU-Net layout",
        sequence: .t1, labels: [(.scapula, 1)], layout: .nnunet,
        shape: [74, 50, 43], spacing: [2.6, 2.6, 4.5], axes: [(1, 1), (2, -1), (0, -1)], oblique: (0, 6, 12),
        imageType: .float32, intensityScale: 850, noise: 0.03, labelIsInt16: true)

    /// Site C (the seed's Case 3): water-saturated Dixon, coronal oblique (8 degrees about
    /// x), stored L-I-A, uint16 .nii, scapula annotated as 2 and joint fluid as 5, a clinic
    /// export with patient names in folder names.
    static let c = MRPhantomSite(
        name: "c", summary: "scapula annotated (value 2, joint fluid 5), Dixon water coronal oblique, axes L-I-A, uint16, clinic export",
        sequence: .dixonWater, labels: [(.scapula, 2), (nil, 5)], layout: .clinic,
        shape: [80, 54, 40], spacing: [2.4, 2.4, 4.8], axes: [(0, -1), (2, -1), (1, 1)], oblique: (8, 0, 0),
        imageType: .uint16, intensityScale: 3000, noise: 0.025, labelIsInt16: false)

    /// The centre of every site's field of view in world coordinates (mm): between the
    /// humeral head and the scapular blade.
    static let fieldCentre = (45.0, -10.0, -35.0)

    /// The stored grid's affine: oblique rotation * axis permutation and signs * spacing,
    /// with the grid centred on the field of view.
    var affine: Affine {
        let degrees = Double.pi / 180
        let rotation = rotationMatrix((oblique.0 * degrees, oblique.1 * degrees, oblique.2 * degrees))
        var columns = [[Double]](repeating: [0, 0, 0], count: 3)
        for (axis, direction) in axes.enumerated() {
            var unit = [0.0, 0.0, 0.0]
            unit[direction.world] = direction.sign
            columns[axis] = (0..<3).map { r in (0..<3).reduce(0.0) { $0 + rotation[r * 3 + $1] * unit[$1] } * spacing[axis] }
        }
        let centreIndex = shape.map { Double($0 - 1) / 2 }
        let centre = [Self.fieldCentre.0, Self.fieldCentre.1, Self.fieldCentre.2]
        var rows = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        for r in 0..<3 {
            for c in 0..<3 { rows[r][c] = columns[c][r] }
            rows[r][3] = centre[r] - (0..<3).reduce(0.0) { $0 + columns[$1][r] * centreIndex[$1] }
        }
        rows[3] = [0, 0, 0, 1]
        return Affine(rows: rows)
    }
}
