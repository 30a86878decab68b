import ArrayFiles
import Foundation
import NiftiIO
import Testing
import TestSupport

/// The writer (used for phantom data) against nibabel: what it writes reads back the same in
/// nibabel and in MedCIL, for every supported datatype, .nii and .nii.gz.
@Suite struct WriterTests {
    static let shape = [5, 4, 3]
    /// Rotated 30 degrees about z and 10 about x, zooms 0.9, 1.1, 2.5, x flipped: oblique
    /// without shear, so the qform can hold it exactly too.
    static let affine: Affine = {
        let (a, b) = (30.0 * .pi / 180, 10.0 * .pi / 180)
        let rz = Affine(rows: [[cos(a), -sin(a), 0, 0], [sin(a), cos(a), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let rx = Affine(rows: [[1, 0, 0, 0], [0, cos(b), -sin(b), 0], [0, sin(b), cos(b), 0], [0, 0, 0, 1]])
        var m = rz * rx * .scaling(-0.9, 1.1, 2.5)
        m[0, 3] = 40; m[1, 3] = -12; m[2, 3] = 3
        return m
    }()
    static var ramp: [Double] { (0..<60).map { Double($0 * 3) - 20 } }

    static func voxels(_ type: NiftiDatatype) -> NiftiWriter.Voxels {
        let r = ramp
        switch type {
        case .uint8: return .uint8(r.map { UInt8(max(0, $0)) })
        case .int8: return .int8(r.map { Int8(max(-128, min(127, $0))) })
        case .int16: return .int16(r.map { Int16($0) })
        case .uint16: return .uint16(r.map { UInt16(max(0, $0)) })
        case .int32: return .int32(r.map { Int32($0) })
        case .uint32: return .uint32(r.map { UInt32(max(0, $0)) })
        case .float32: return .float32(r.map { Float($0) + 0.25 })
        case .float64: return .float64(r.map { $0 + 0.125 })
        }
    }

    @Test(arguments: NiftiDatatype.allCases, ["x.nii.gz", "x.nii"])
    func roundTripThroughNibabel(type: NiftiDatatype, name: String) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        var options = NiftiWriter.Options()
        options.description = "medcil test"
        options.extensions = [(code: 6, data: Data("a comment".utf8))]
        if type == .int16 { options.slope = 0.5; options.intercept = 10 }
        try NiftiWriter.write(Self.voxels(type), shape: Self.shape, affine: Self.affine, to: url, options: options)
        let ref = try #require(try Oracle.json("nibabel_written.py", [url.path, folder.appendingPathComponent("r.npy").path]) as? [String: Any])
        #expect(ref["class"] as? String == "Nifti1Image")
        #expect(ref["rawDtype"] as? String == type.name)
        #expect(ref["shape"] as? [Int] == Self.shape)
        #expect(ref["sformCode"] as? Int == 1 && ref["qformCode"] as? Int == 1)
        #expect(Oracle.affine(ref["sform"])!.maxDifference(to: Self.affine) < 1e-5)
        // The qform holds the rigid part; this affine has no shear, so it is the same matrix.
        #expect(Oracle.affine(ref["qform"])!.maxDifference(to: Self.affine) < 1e-4)
        #expect(ref["description"] as? String == "medcil test")
        #expect((ref["extensions"] as? [[Any]])?.first?.first as? Int == 6)
        #expect(((ref["extensions"] as? [[Any]])?.first?.last as? String)?.hasPrefix("a comment") == true)
        if type == .int16 { #expect(ref["slope"] as? Double == 0.5 && ref["inter"] as? Double == 10) }
        let nibabel = try NpyArray.read(from: folder.appendingPathComponent("r.npy"))
        let ours = try NiftiFile(path: url.path).readImage()
        #expect(ours.cOrderValues() == nibabel.values(as: Float.self))
        #expect(ours.shape == Self.shape)
    }

    /// Phantom data must be reproducible: the same inputs give the same bytes (gzip included).
    @Test func sameInputsSameBytes() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.nii.gz"), b = folder.appendingPathComponent("b.nii.gz")
        try NiftiWriter.write(Self.voxels(.int16), shape: Self.shape, affine: Self.affine, to: a)
        try NiftiWriter.write(Self.voxels(.int16), shape: Self.shape, affine: Self.affine, to: b)
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a.nii.gz", "b.nii.gz"], "no temporaries left")
    }

    @Test func badArgumentsAreRefused() {
        let url = URL(fileURLWithPath: "/tmp/medcil-never-written.nii")
        #expect(throws: NiftiError.self) { try NiftiWriter.write(.uint8([1, 2, 3]), shape: [2, 2, 2], affine: .identity, to: url) }
        #expect(throws: NiftiError.self) { try NiftiWriter.write(.uint8([1]), shape: [1, 1, 1], affine: .identity, to: URL(fileURLWithPath: "/tmp/x.img")) }
        var singular = Affine.identity
        singular[1, 1] = 0
        #expect(throws: NiftiError.self) { try NiftiWriter.write(.uint8([1]), shape: [1, 1, 1], affine: singular, to: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }
}
