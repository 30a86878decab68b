import ArrayFiles
import Foundation
import NiftiIO
import Testing
import TestSupport

/// Reorientation to RAS+ with every axis permutation and flip (6 x 8 = 48 stored
/// orientations of one known volume), checked three ways: the canonical array and affine
/// are the known ones, they equal nibabel's `as_closest_canonical`, and the stored file's
/// axis codes equal nibabel's.
@Suite(.serialized) struct ReorientationTests {
    static let canonicalShape = [4, 5, 6]
    /// The known volume in RAS+: value = 1 + i + 10 j + 100 k.
    static let canonicalValues: [Int16] = {
        var v: [Int16] = []
        for k in 0..<6 { for j in 0..<5 { for i in 0..<4 { v.append(Int16(1 + i + 10 * j + 100 * k)) } } }
        return v
    }()
    static let baseAffine = Affine(rows: [[2, 0, 0, -10], [0, 3, 0, 20], [0, 0, 4, -30], [0, 0, 0, 1]])

    struct Case: CustomStringConvertible, Sendable {
        /// Stored axis a holds canonical axis permutation[a], backwards when flips[a].
        var permutation: [Int]
        var flips: [Bool]
        var description: String { "perm \(permutation) flips \(flips.map { $0 ? 1 : 0 })" }
        var name: String { "p\(permutation.map(String.init).joined())-f\(flips.map { $0 ? "1" : "0" }.joined())" }
    }

    static let cases: [Case] = {
        let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        return permutations.flatMap { p in (0..<8).map { bits in Case(permutation: p, flips: (0..<3).map { bits & (1 << $0) != 0 }) } }
    }()

    /// The stored array and affine of a case.
    static func stored(_ c: Case, base: Affine = baseAffine) -> (shape: [Int], values: [Int16], affine: Affine) {
        let shape = (0..<3).map { canonicalShape[c.permutation[$0]] }
        var values = [Int16](repeating: 0, count: shape.reduce(1, *))
        for s2 in 0..<shape[2] { for s1 in 0..<shape[1] { for s0 in 0..<shape[0] {
            let s = [s0, s1, s2]
            var ci = [0, 0, 0]
            for a in 0..<3 { ci[c.permutation[a]] = c.flips[a] ? shape[a] - 1 - s[a] : s[a] }
            values[s0 + shape[0] * (s1 + shape[1] * s2)] = canonicalValues[ci[0] + 4 * (ci[1] + 5 * ci[2])]
        } } }
        var m = [Double](repeating: 0, count: 16)
        for a in 0..<3 {
            m[c.permutation[a] * 4 + a] = c.flips[a] ? -1 : 1
            m[c.permutation[a] * 4 + 3] = c.flips[a] ? Double(shape[a] - 1) : 0
        }
        m[15] = 1
        return (shape, values, base * Affine(elements: m))
    }

    @Test func allFortyEightOrientationsGiveTheKnownVolumeAndMatchNibabel() throws {
        #expect(Self.cases.count == 48)
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var arguments: [String] = []
        for c in Self.cases {
            let (shape, values, affine) = Self.stored(c)
            let url = folder.appendingPathComponent("\(c.name).nii.gz")
            try NiftiWriter.write(.int16(values), shape: shape, affine: affine, to: url)
            arguments += [url.path, folder.appendingPathComponent("\(c.name).npy").path]
        }
        let references = try Oracle.jsonLines("nibabel_voxels.py", ["--canonical"] + arguments)
        #expect(references.count == 48)
        let known = Volume(shape: Self.canonicalShape, values: Self.canonicalValues.map(Float.init), affine: Self.baseAffine).cOrderValues()
        for (index, c) in Self.cases.enumerated() {
            let file = try NiftiFile(path: folder.appendingPathComponent("\(c.name).nii.gz").path)
            let stored = try file.readImage()
            let expectedCodes = (0..<3).map { a -> String in
                let labels = [("L", "R"), ("P", "A"), ("I", "S")][c.permutation[a]]
                return c.flips[a] ? labels.0 : labels.1
            }
            #expect(file.header.axisCodes == expectedCodes, "\(c)")
            let canonical = try stored.canonical()
            #expect(canonical.shape == Self.canonicalShape, "\(c)")
            #expect(canonical.cOrderValues() == known, "\(c): canonical voxels")
            #expect(canonical.affine.maxDifference(to: Self.baseAffine) < 1e-5, "\(c): canonical affine\n\(canonical.affine)")
            // nibabel on the same file.
            let ref = references[index]
            let nibabel = try NpyArray.read(from: folder.appendingPathComponent("\(c.name).npy"))
            #expect(nibabel.shape == canonical.shape)
            #expect(nibabel.values(as: Float.self) == canonical.cOrderValues(), "\(c): nibabel's canonical voxels")
            #expect(canonical.affine.maxDifference(to: Oracle.affine(ref["affine"])!) < 1e-9, "\(c): nibabel's canonical affine")
        }
    }

    /// Oblique volumes (rotated 25 degrees about each axis in turn, and about all three)
    /// reorient to the closest axes exactly as nibabel does.
    @Test(arguments: [[25.0, 0, 0], [0, 25.0, 0], [0, 0, 25.0], [20.0, -35, 40], [0, 0, 44.9], [0, 0, 45.1]])
    func obliqueVolumesMatchNibabel(angles: [Double]) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let rotation = Self.rotation(angles)
        var arguments: [String] = []
        for c in Self.cases where c.flips == [false, true, false] || c.flips == [true, false, true] {
            let (shape, values, affine) = Self.stored(c, base: rotation * Self.baseAffine)
            let url = folder.appendingPathComponent("\(c.name).nii")
            try NiftiWriter.write(.int16(values), shape: shape, affine: affine, to: url)
            arguments += [url.path, folder.appendingPathComponent("\(c.name).npy").path]
        }
        let references = try Oracle.jsonLines("nibabel_voxels.py", ["--canonical"] + arguments)
        for (k, ref) in references.enumerated() {
            let canonical = try NiftiFile(path: arguments[2 * k]).readImage().canonical()
            let nibabel = try NpyArray.read(from: URL(fileURLWithPath: arguments[2 * k + 1]))
            #expect(canonical.shape == nibabel.shape, "\(arguments[2 * k])")
            #expect(canonical.cOrderValues() == nibabel.values(as: Float.self), "\(arguments[2 * k])")
            #expect(canonical.affine.maxDifference(to: Oracle.affine(ref["affine"])!) < 1e-9)
            #expect(try canonical.orientation().codes == ref["axisCodes"] as? [String])
        }
    }

    /// Axis codes and canonical affines of 400 random affines (rotations, flips, shears,
    /// anisotropic zooms, permutations) equal nibabel's `aff2axcodes` and `inv_ornt_aff`.
    @Test func randomAffinesMatchNibabel() throws {
        var generator = SplitMix(seed: 99)
        var cases: [[String: Any]] = []
        var affines: [Affine] = []
        for n in 0..<400 {
            var a = Self.rotation([generator.angle(), generator.angle(), generator.angle()])
            var shear = Affine.identity
            if n % 3 == 0 { shear[0, 1] = generator.unit() * 0.4; shear[1, 2] = generator.unit() * 0.4 }
            a = a * shear * .scaling(0.5 + 3 * abs(generator.unit()), 0.5 + 3 * abs(generator.unit()), 0.5 + 3 * abs(generator.unit()))
            if n % 2 == 0 { a = a * Affine(rows: [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]) }
            if n % 5 == 0 { a = a * .scaling(-1, 1, -1) }
            a[0, 3] = generator.unit() * 100; a[1, 3] = generator.unit() * 100; a[2, 3] = generator.unit() * 100
            affines.append(a)
            cases.append(["affine": a.rows, "shape": [7, 8, 9]])
        }
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("affines.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: input)
        let references = try #require(try Oracle.json("nibabel_orientation.py", [input.path]) as? [[String: Any]])
        for (affine, ref) in zip(affines, references) {
            let orientation = try AxisOrientation(affine: affine)
            #expect(orientation.codes == ref["codes"] as? [String], "\(affine)")
            let plan = Reorientation(sourceShape: [7, 8, 9], orientation: orientation)
            #expect(plan.canonicalAffine(affine).maxDifference(to: Oracle.affine(ref["canonical"])!) < 1e-9)
        }
    }

    @Test func degenerateAffineIsAnError() {
        var flat = Affine.identity
        flat[2, 2] = 0
        #expect(throws: NiftiError.self) { try AxisOrientation(affine: flat) }
    }

    static func rotation(_ degrees: [Double]) -> Affine {
        let (a, b, c) = (degrees[0] * .pi / 180, degrees[1] * .pi / 180, degrees[2] * .pi / 180)
        let rx = Affine(rows: [[1, 0, 0, 0], [0, cos(a), -sin(a), 0], [0, sin(a), cos(a), 0], [0, 0, 0, 1]])
        let ry = Affine(rows: [[cos(b), 0, sin(b), 0], [0, 1, 0, 0], [-sin(b), 0, cos(b), 0], [0, 0, 0, 1]])
        let rz = Affine(rows: [[cos(c), -sin(c), 0, 0], [sin(c), cos(c), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        return rz * ry * rx
    }
}

/// A tiny seeded generator for test inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-52 - 1 }
    mutating func angle() -> Double { unit() * 180 }
}
