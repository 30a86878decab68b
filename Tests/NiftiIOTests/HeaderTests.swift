import Foundation
import NiftiIO
import Testing
import TestSupport

/// Header values and affines against nibabel on the real files of the nibabel wheel.
@Suite struct HeaderTests {
    /// Equal to 1e-12 relative: Foundation's JSON parser on Linux can be one ulp off.
    func close(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a == b || abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    }

    func close(_ a: [Double], _ b: [Double]?) -> Bool {
        guard let b, a.count == b.count else { return false }
        return zip(a, b).allSatisfy { close($0, $1) }
    }

    @Test(arguments: NibabelFiles.all)
    func headerMatchesNibabel(name: String) throws {
        let url = try NibabelFiles.url(name)
        let header = try NiftiFile(path: url.path).header
        let ref = try #require(try Oracle.json("nibabel_header.py", [url.path]) as? [String: Any])
        #expect(header.version.rawValue == ref["version"] as? Int)
        #expect(header.byteOrder.rawValue == ref["byteOrder"] as? String)
        #expect(header.dim == ref["dim"] as? [Int])
        #expect(header.shape == ref["shape"] as? [Int])
        #expect(header.datatypeCode == ref["datatypeCode"] as? Int)
        #expect(header.bitsPerVoxel == ref["bitsPerVoxel"] as? Int)
        let pixdim = try #require(ref["pixdim"] as? [Double])
        #expect(close(header.pixdim, pixdim))
        #expect(header.voxOffset == ref["voxOffset"] as? Int)
        #expect(close(header.sclSlope, ref["sclSlope"] as? Double))
        #expect(close(header.sclInter, ref["sclInter"] as? Double))
        #expect(close(header.scaling?.slope ?? 1, ref["appliedSlope"] as? Double))
        #expect(close(header.scaling?.intercept ?? 0, ref["appliedInter"] as? Double))
        #expect(close(header.calMin, ref["calMin"] as? Double) && close(header.calMax, ref["calMax"] as? Double))
        #expect(header.qformCode == ref["qformCode"] as? Int)
        #expect(header.sformCode == ref["sformCode"] as? Int)
        #expect(close(header.quaternion, ref["quaternion"] as? [Double]))
        #expect(close(header.qoffset, ref["qoffset"] as? [Double]))
        if let qform = Oracle.affine(ref["qform"]) {
            // libnifti (NIfTI's reference code) takes the quaternion's a = sqrt(1 - b² - c² - d²)
            // as 0 when 1 - b² - c² - d² < 1e-7 and renormalises (b, c, d); nibabel takes the
            // square root. For example_nifti2's float32-precision quaternion stored as
            // float64 that moves the rotation by 1.4e-4. Both files also carry an sform,
            // which is the affine either reader uses.
            let tolerance = header.version == .nifti2 ? 2e-4 : 1e-6
            #expect(header.qform.maxDifference(to: qform) < tolerance, "qform\n\(header.qform)\nnibabel\n\(qform)")
        }
        if header.sformCode > 0, let sform = Oracle.affine(ref["sform"]) {
            #expect(header.sform.maxDifference(to: sform) < 1e-12, "sform\n\(header.sform)\nnibabel\n\(sform)")
        }
        #expect(header.intentCode == ref["intentCode"] as? Int)
        #expect(header.intentLabel == ref["intentLabel"] as? String)
        #expect(close(header.intentParameters, ref["intentParameters"] as? [Double]))
        #expect(header.description == ref["description"] as? String)
        let extensions = try #require(ref["extensions"] as? [[Int]])
        #expect(header.extensions.map { [$0.code, $0.size] } == extensions)
        let dimInfo = try #require(ref["dimInfo"] as? [Int])
        #expect([header.frequencyDim, header.phaseDim, header.sliceDim] == dimInfo)
        let units = try #require(ref["xyztUnits"] as? [String])
        #expect(header.spatialUnits.lowercased() == units[0])

        let affine = try #require(Oracle.affine(ref["affine"]))
        if NibabelFiles.oriented.contains(name) {
            #expect(header.affine.maxDifference(to: affine) < 1e-6, "affine\n\(header.affine)\nnibabel\n\(affine)")
            #expect(header.axisCodes == ref["axisCodes"] as? [String])
        } else {
            // No sform or qform: NIfTI's method 1 (diagonal pixdim, origin at voxel 0), where
            // nibabel uses the ANALYZE convention (x flipped, origin at the centre).
            #expect(header.affineSource == .pixdim)
            #expect(header.affine == .scaling(header.pixdim[1], header.pixdim[2], header.pixdim[3]))
            #expect(header.axisCodes == ["R", "A", "S"])
        }
    }

    @Test func affineSourcePrecedence() throws {
        #expect(try NiftiFile(path: NibabelFiles.url("standard.nii.gz").path).header.affineSource == .sform)
        #expect(try NiftiFile(path: NibabelFiles.url("anatomical.nii").path).header.affineSource == .sform)
        // A file with only a qform, and one with neither, written here.
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let affine = Affine(rows: [[0, 0, -2, 10], [1.5, 0, 0, -4], [0, 3, 0, 7], [0, 0, 0, 1]])
        var options = NiftiWriter.Options()
        options.sformCode = 0
        let qformOnly = folder.appendingPathComponent("q.nii")
        try NiftiWriter.write(.uint8([UInt8](repeating: 1, count: 24)), shape: [2, 3, 4], affine: affine, to: qformOnly, options: options)
        let q = try NiftiFile(path: qformOnly.path).header
        #expect(q.affineSource == .qform)
        #expect(q.affine.maxDifference(to: affine) < 1e-5)
        #expect(q.axisCodes == ["A", "S", "L"])
        options.qformCode = 0
        let neither = folder.appendingPathComponent("n.nii")
        try NiftiWriter.write(.uint8([UInt8](repeating: 1, count: 24)), shape: [2, 3, 4], affine: affine, to: neither, options: options)
        let n = try NiftiFile(path: neither.path).header
        #expect(n.affineSource == .pixdim)
        #expect(n.affine == .scaling(1.5, 3, 2))
    }
}
