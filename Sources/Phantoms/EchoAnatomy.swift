import Foundation

/// The heart as each echo view shows it, drawn as soft-edged ellipses in sector
/// coordinates: the apex of the fan at (0, 0), depth `y` down and lateral `x` in units of
/// the sector radius. Blood pools are dark (bright in contrast views on the left heart),
/// myocardium mid-grey, valves and pericardium bright.
struct EchoBlob {
    enum Kind { case muscle, blood, bright, liver }
    /// How the blob moves over the cardiac cycle.
    enum Motion {
        case fixed
        /// Largest at end-diastole (phase 0), smallest at end-systole.
        case ventricle
        /// Fills while the ventricles contract.
        case atrium
        /// Valve leaflets: visible when closed.
        case valve
        /// The inferior vena cava narrows with respiration.
        case vein
    }
    /// Which side of the heart a blood pool belongs to (contrast opacifies the left heart).
    enum Side { case left, right, none }

    var x: Double
    var y: Double
    var a: Double
    var b: Double
    var angle: Double  // degrees
    var kind: Kind
    var motion: Motion = .fixed
    var side: Side = .none
}

enum EchoAnatomy {
    /// Blobs of a view, painted in order (later ones over earlier ones).
    static func blobs(for view: String) -> [EchoBlob] {
        let base = view.hasPrefix("contrast-") ? String(view.dropFirst("contrast-".count)) : view
        switch base {
        case "A4C": return fourChamber()
        case "A2C":
            return [
                EchoBlob(x: 0.02, y: 0.55, a: 0.27, b: 0.43, angle: 0, kind: .muscle),
                EchoBlob(x: 0.02, y: 0.43, a: 0.12, b: 0.25, angle: 0, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: 0.02, y: 0.81, a: 0.11, b: 0.10, angle: 0, kind: .blood, motion: .atrium, side: .left),
                EchoBlob(x: 0.02, y: 0.69, a: 0.09, b: 0.008, angle: 0, kind: .bright, motion: .valve),
            ]
        case "A3C":
            return [
                EchoBlob(x: 0.03, y: 0.55, a: 0.31, b: 0.43, angle: 0, kind: .muscle),
                EchoBlob(x: 0.0, y: 0.43, a: 0.115, b: 0.24, angle: -5, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: -0.05, y: 0.81, a: 0.10, b: 0.09, angle: 0, kind: .blood, motion: .atrium, side: .left),
                EchoBlob(x: 0.15, y: 0.66, a: 0.045, b: 0.17, angle: 35, kind: .blood, motion: .fixed, side: .left),
                EchoBlob(x: 0.12, y: 0.62, a: 0.05, b: 0.007, angle: -55, kind: .bright, motion: .valve),
            ]
        case "A5C":
            var blobs = fourChamber(spread: 0.03)
            blobs.append(EchoBlob(x: 0.0, y: 0.66, a: 0.05, b: 0.14, angle: 0, kind: .blood, motion: .fixed, side: .left))
            blobs.append(EchoBlob(x: 0.0, y: 0.6, a: 0.05, b: 0.007, angle: 0, kind: .bright, motion: .valve))
            return blobs
        case "PLAX":
            return [
                EchoBlob(x: 0.0, y: 0.55, a: 0.52, b: 0.30, angle: -8, kind: .muscle),
                EchoBlob(x: 0.0, y: 0.30, a: 0.34, b: 0.055, angle: -8, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: -0.08, y: 0.52, a: 0.30, b: 0.10, angle: -8, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: 0.26, y: 0.42, a: 0.17, b: 0.06, angle: -15, kind: .blood, motion: .fixed, side: .left),
                EchoBlob(x: 0.27, y: 0.63, a: 0.10, b: 0.09, angle: 0, kind: .blood, motion: .atrium, side: .left),
                EchoBlob(x: 0.0, y: 0.75, a: 0.52, b: 0.012, angle: -8, kind: .bright),
                EchoBlob(x: 0.16, y: 0.5, a: 0.07, b: 0.008, angle: 40, kind: .bright, motion: .valve),
            ]
        case "PLAX-AV":
            return [
                EchoBlob(x: 0.0, y: 0.52, a: 0.56, b: 0.36, angle: -6, kind: .muscle),
                EchoBlob(x: -0.05, y: 0.27, a: 0.42, b: 0.07, angle: -6, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: 0.0, y: 0.47, a: 0.46, b: 0.11, angle: -8, kind: .blood, motion: .fixed, side: .left),
                EchoBlob(x: -0.02, y: 0.44, a: 0.07, b: 0.009, angle: 60, kind: .bright, motion: .valve),
                EchoBlob(x: -0.02, y: 0.50, a: 0.07, b: 0.009, angle: -60, kind: .bright, motion: .valve),
                EchoBlob(x: 0.08, y: 0.73, a: 0.21, b: 0.10, angle: 0, kind: .blood, motion: .atrium, side: .left),
            ]
        case "PSAX-AV":
            return [
                EchoBlob(x: 0.0, y: 0.52, a: 0.46, b: 0.40, angle: 0, kind: .muscle),
                EchoBlob(x: 0.0, y: 0.50, a: 0.10, b: 0.10, angle: 0, kind: .blood, motion: .fixed, side: .left),
                EchoBlob(x: 0.0, y: 0.455, a: 0.045, b: 0.007, angle: 90, kind: .bright, motion: .valve),
                EchoBlob(x: -0.039, y: 0.522, a: 0.045, b: 0.007, angle: 210, kind: .bright, motion: .valve),
                EchoBlob(x: 0.039, y: 0.522, a: 0.045, b: 0.007, angle: 330, kind: .bright, motion: .valve),
                EchoBlob(x: -0.25, y: 0.58, a: 0.09, b: 0.10, angle: 0, kind: .blood, motion: .atrium, side: .right),
                EchoBlob(x: 0.02, y: 0.28, a: 0.29, b: 0.06, angle: 5, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: 0.02, y: 0.75, a: 0.17, b: 0.07, angle: 0, kind: .blood, motion: .atrium, side: .left),
                EchoBlob(x: 0.26, y: 0.38, a: 0.05, b: 0.12, angle: 20, kind: .blood, motion: .fixed, side: .right),
            ]
        case "PSAX-PM":
            return [
                EchoBlob(x: 0.0, y: 0.55, a: 0.25, b: 0.24, angle: 0, kind: .muscle),
                EchoBlob(x: 0.0, y: 0.55, a: 0.145, b: 0.135, angle: 0, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: -0.06, y: 0.61, a: 0.032, b: 0.03, angle: 0, kind: .muscle),
                EchoBlob(x: 0.07, y: 0.62, a: 0.032, b: 0.03, angle: 0, kind: .muscle),
                EchoBlob(x: -0.05, y: 0.27, a: 0.23, b: 0.05, angle: 10, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: 0.0, y: 0.82, a: 0.3, b: 0.012, angle: 0, kind: .bright),
            ]
        case "RV":
            return [
                EchoBlob(x: 0.0, y: 0.55, a: 0.39, b: 0.43, angle: 0, kind: .muscle),
                EchoBlob(x: -0.05, y: 0.44, a: 0.16, b: 0.26, angle: -12, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: 0.25, y: 0.47, a: 0.065, b: 0.2, angle: 5, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: -0.06, y: 0.83, a: 0.14, b: 0.10, angle: 0, kind: .blood, motion: .atrium, side: .right),
                EchoBlob(x: -0.06, y: 0.71, a: 0.11, b: 0.008, angle: 0, kind: .bright, motion: .valve),
            ]
        case "SC":
            return [
                EchoBlob(x: -0.2, y: 0.2, a: 0.62, b: 0.24, angle: 15, kind: .liver),
                EchoBlob(x: 0.1, y: 0.62, a: 0.42, b: 0.30, angle: 20, kind: .muscle),
                EchoBlob(x: 0.0, y: 0.49, a: 0.19, b: 0.07, angle: 20, kind: .blood, motion: .ventricle, side: .right),
                EchoBlob(x: 0.14, y: 0.60, a: 0.21, b: 0.08, angle: 20, kind: .blood, motion: .ventricle, side: .left),
                EchoBlob(x: -0.13, y: 0.69, a: 0.09, b: 0.08, angle: 0, kind: .blood, motion: .atrium, side: .right),
                EchoBlob(x: 0.05, y: 0.78, a: 0.10, b: 0.07, angle: 0, kind: .blood, motion: .atrium, side: .left),
            ]
        case "SC-IVC":
            return [
                EchoBlob(x: 0.0, y: 0.36, a: 0.72, b: 0.36, angle: 0, kind: .liver),
                EchoBlob(x: 0.0, y: 0.50, a: 0.43, b: 0.055, angle: 8, kind: .blood, motion: .vein, side: .right),
                EchoBlob(x: -0.13, y: 0.36, a: 0.03, b: 0.14, angle: -30, kind: .blood, motion: .fixed, side: .right),
                EchoBlob(x: 0.44, y: 0.47, a: 0.1, b: 0.1, angle: 0, kind: .blood, motion: .atrium, side: .right),
            ]
        default:
            return fourChamber()
        }
    }

    /// The apical four-chamber arrangement (LV on the right of the screen, atria deep).
    static func fourChamber(spread: Double = 0) -> [EchoBlob] {
        [
            EchoBlob(x: 0.0, y: 0.55, a: 0.37, b: 0.43, angle: 0, kind: .muscle),
            EchoBlob(x: 0.13 + spread, y: 0.43, a: 0.10, b: 0.24, angle: 8, kind: .blood, motion: .ventricle, side: .left),
            EchoBlob(x: -0.14 - spread, y: 0.45, a: 0.085, b: 0.20, angle: -10, kind: .blood, motion: .ventricle, side: .right),
            EchoBlob(x: 0.13 + spread, y: 0.81, a: 0.10, b: 0.09, angle: 0, kind: .blood, motion: .atrium, side: .left),
            EchoBlob(x: -0.14 - spread, y: 0.81, a: 0.09, b: 0.095, angle: 0, kind: .blood, motion: .atrium, side: .right),
            EchoBlob(x: 0.13 + spread, y: 0.69, a: 0.08, b: 0.008, angle: 0, kind: .bright, motion: .valve),
            EchoBlob(x: -0.14 - spread, y: 0.68, a: 0.07, b: 0.008, angle: 0, kind: .bright, motion: .valve),
        ]
    }
}
