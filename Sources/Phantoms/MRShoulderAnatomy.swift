import Foundation
import Support

/// A left shoulder as MR sees it, defined in millimetres in the subject's frame (x towards
/// the subject's right, i.e. medially for the left shoulder, y anterior, z superior; origin
/// at the centre of the humeral head): the humerus (head sphere, greater tuberosity and
/// shaft), the scapula (glenoid cup facing the head, neck, and a curved triangular blade
/// wrapping posteriorly around the chest wall), a clavicle (bone that no phantom site
/// annotates), joint fluid, muscle and subcutaneous fat.
struct MRShoulderSubject: Sendable {
    enum Tissue: Int, Sendable { case air, fat, muscle, fluid, cortex, marrow }
    enum Structure: Int, Sendable { case none, humerus, scapula, clavicle }

    /// Overall size factor and head radius (mm).
    var scale: Double
    var headRadius: Double
    var shaftRadius: Double
    var bladeThickness: Double
    /// Subject -> world rotation (row-major 3x3) and translation (mm).
    var rotation: [Double]
    var translation: (Double, Double, Double)
    /// Bias field: a linear gradient direction and strength, and a slow ripple.
    var biasDirection: (Double, Double, Double)
    var biasStrength: Double
    var biasRipple: Double

    static func random(using generator: inout SeededGenerator) -> MRShoulderSubject {
        func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * generator.nextUnit() }
        let degrees = .pi / 180.0
        let angles = (uniform(-8, 8) * degrees, uniform(-8, 8) * degrees, uniform(-10, 10) * degrees)
        let direction = (uniform(-1, 1), uniform(-1, 1), uniform(-1, 1))
        let norm = max((direction.0 * direction.0 + direction.1 * direction.1 + direction.2 * direction.2).squareRoot(), 1e-6)
        return MRShoulderSubject(
            scale: uniform(0.9, 1.1), headRadius: uniform(21, 26), shaftRadius: uniform(10, 13), bladeThickness: uniform(6, 9),
            rotation: rotationMatrix(angles), translation: (uniform(-8, 8), uniform(-8, 8), uniform(-8, 8)),
            biasDirection: (direction.0 / norm, direction.1 / norm, direction.2 / norm), biasStrength: uniform(0.15, 0.35),
            biasRipple: uniform(0.03, 0.08))
    }

    /// Tissue and structure at a point of the subject's frame (before scaling).
    func classify(_ p: (Double, Double, Double)) -> (Tissue, Structure) {
        let (x, y, z) = (p.0 / scale, p.1 / scale, p.2 / scale)
        // Bones: depth inside each shape (positive inside); cortex is the outer 2.5 mm.
        let cortex = 2.5
        let head = headRadius - length(x, y, z)
        let tuberosity = 9 - length(x + headRadius * 0.7, y - 5, z - 8)
        let shaft = shaftRadius - segmentDistance((x, y, z), (-2, 0, -8), (-12, 3, -160))
        let humerus = max(head, tuberosity, shaft)
        let scapula = scapulaDepth(x, y, z)
        let clavicle = 7 - segmentDistance((x, y, z), (35, 15, 48), (150, 35, 62))
        if humerus > 0 { return (humerus < cortex ? .cortex : .marrow, .humerus) }
        if scapula > 0 { return (scapula < cortex * 0.8 ? .cortex : .marrow, .scapula) }
        if clavicle > 0 { return (clavicle < cortex ? .cortex : .marrow, .clavicle) }
        // Joint fluid: a thin film around the head on the glenoid side.
        let r = length(x, y, z)
        if r < headRadius + 2 && x > 0 { return (.fluid, .none) }
        // Soft tissue: the arm's muscle sleeve (deltoid) and the chest wall, wrapped in fat.
        let arm = ellipsoidDepth(x, y, z, centre: (-4, 0, -40), radii: (48, 52, 130))
        let chest = ellipsoidDepth(x, y, z, centre: (120, -5, -30), radii: (115, 85, 150))
        let body = max(arm, chest)
        if body > 7 { return (.muscle, .none) }
        if body > 0 { return (.fat, .none) }
        return (.air, .none)
    }

    /// Depth inside the scapula: glenoid (a cup hollowed by the humeral head), neck, and
    /// a curved triangular blade.
    private func scapulaDepth(_ x: Double, _ y: Double, _ z: Double) -> Double {
        let glenoidBody = ellipsoidDepth(x, y, z, centre: (headRadius + 10, 0, 0), radii: (9, 13, 18))
        let cup = length(x, y, z) - (headRadius + 2)   // positive outside the head's clearance
        let glenoid = min(glenoidBody, cup)
        // Blade: a cylindrical shell around the chest (axis along z through c), between two
        // angles that narrow towards the inferior angle.
        let c = (130.0, 70.0), radius = 117.0
        let dx = x - c.0, dy = y - c.1
        let r = (dx * dx + dy * dy).squareRoot()
        let start = atan2(-75.0, -90.0)
        var phi = atan2(dy, dx) - start
        while phi < -Double.pi { phi += 2 * .pi }
        while phi > Double.pi { phi -= 2 * .pi }
        let top = 28.0, bottom = -115.0
        let u = min(max((top - z) / (top - bottom), 0), 1)
        let lo = 0.05 + 0.45 * u, hi = 0.8 - 0.25 * u
        let shell = bladeThickness / 2 - abs(r - radius)
        let angular = min(phi - lo, hi - phi) * radius
        let vertical = min(top - z, z - bottom)
        let blade = min(shell, angular, vertical)
        let anchor = (c.0 + radius * cos(start + 0.1), c.1 + radius * sin(start + 0.1))
        let neck = 7 - segmentDistance((x, y, z), (headRadius + 12, 0, 0), (anchor.0, anchor.1, 0))
        return max(glenoid, blade, neck)
    }

    /// Intensity of a tissue in a sequence (before bias and noise).
    static func intensity(_ tissue: Tissue, sequence: MRPhantomSite.Sequence) -> Double {
        switch (sequence, tissue) {
        case (_, .air): return 0
        // T1-weighted: fat and fatty marrow bright, muscle grey, fluid dark, cortex black.
        case (.t1, .fat): return 0.95
        case (.t1, .muscle): return 0.38
        case (.t1, .fluid): return 0.2
        case (.t1, .cortex): return 0.05
        case (.t1, .marrow): return 0.82
        // Dixon water image: fat suppressed (fat and fatty marrow dark), water-rich muscle
        // and joint fluid bright.
        case (.dixonWater, .fat): return 0.1
        case (.dixonWater, .muscle): return 0.55
        case (.dixonWater, .fluid): return 0.95
        case (.dixonWater, .cortex): return 0.04
        case (.dixonWater, .marrow): return 0.16
        }
    }

    /// The multiplicative bias field at a world point (mm).
    func bias(_ w: (Double, Double, Double)) -> Double {
        let along = (w.0 * biasDirection.0 + w.1 * biasDirection.1 + w.2 * biasDirection.2) / 100
        return exp(biasStrength * along) * (1 + biasRipple * sin(w.2 / 45 + w.0 / 70))
    }

    /// Subject frame -> world frame.
    func toWorld(_ p: (Double, Double, Double)) -> (Double, Double, Double) {
        let r = rotation
        return (r[0] * p.0 + r[1] * p.1 + r[2] * p.2 + translation.0,
                r[3] * p.0 + r[4] * p.1 + r[5] * p.2 + translation.1,
                r[6] * p.0 + r[7] * p.1 + r[8] * p.2 + translation.2)
    }

    /// World frame -> subject frame (the rotation is orthogonal).
    func toSubject(_ w: (Double, Double, Double)) -> (Double, Double, Double) {
        let r = rotation
        let d = (w.0 - translation.0, w.1 - translation.1, w.2 - translation.2)
        return (r[0] * d.0 + r[3] * d.1 + r[6] * d.2, r[1] * d.0 + r[4] * d.1 + r[7] * d.2, r[2] * d.0 + r[5] * d.1 + r[8] * d.2)
    }
}

/// Rz * Ry * Rx for angles (x, y, z) in radians, row-major.
func rotationMatrix(_ angles: (Double, Double, Double)) -> [Double] {
    let (a, b, c) = angles
    let rx = [1, 0, 0, 0, cos(a), -sin(a), 0, sin(a), cos(a)]
    let ry = [cos(b), 0, sin(b), 0, 1, 0, -sin(b), 0, cos(b)]
    let rz = [cos(c), -sin(c), 0, sin(c), cos(c), 0, 0, 0, 1]
    return multiply3(rz, multiply3(ry, rx))
}

func multiply3(_ a: [Double], _ b: [Double]) -> [Double] {
    var out = [Double](repeating: 0, count: 9)
    for r in 0..<3 { for c in 0..<3 { out[r * 3 + c] = (0..<3).reduce(0) { $0 + a[r * 3 + $1] * b[$1 * 3 + c] } } }
    return out
}

private func length(_ x: Double, _ y: Double, _ z: Double) -> Double { (x * x + y * y + z * z).squareRoot() }

/// Distance from p to the segment a-b.
private func segmentDistance(_ p: (Double, Double, Double), _ a: (Double, Double, Double), _ b: (Double, Double, Double)) -> Double {
    let ab = (b.0 - a.0, b.1 - a.1, b.2 - a.2)
    let ap = (p.0 - a.0, p.1 - a.1, p.2 - a.2)
    let t = min(max((ap.0 * ab.0 + ap.1 * ab.1 + ap.2 * ab.2) / (ab.0 * ab.0 + ab.1 * ab.1 + ab.2 * ab.2), 0), 1)
    return length(ap.0 - t * ab.0, ap.1 - t * ab.1, ap.2 - t * ab.2)
}

/// Approximate depth (mm) inside an axis-aligned ellipsoid: positive inside.
private func ellipsoidDepth(_ x: Double, _ y: Double, _ z: Double, centre: (Double, Double, Double), radii: (Double, Double, Double)) -> Double {
    let q = length((x - centre.0) / radii.0, (y - centre.1) / radii.1, (z - centre.2) / radii.2)
    return (1 - q) * min(radii.0, radii.1, radii.2)
}
