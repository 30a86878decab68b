import ArrayFiles
import Foundation
import NiftiIO
import Testing
import TestSupport

/// Scaled voxels, stored and canonical, against nibabel's `get_fdata()` (and
/// `as_closest_canonical`) on the real files of the nibabel wheel.
@Suite struct VoxelTests {
    @Test(arguments: NibabelFiles.oriented, [false, true])
    func voxelsMatchNibabel(name: String, canonical: Bool) throws {
        let url = try NibabelFiles.url(name)
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let refURL = folder.appendingPathComponent("ref.npy")
        let ref = try #require(try Oracle.jsonLines("nibabel_voxels.py", (canonical ? ["--canonical"] : []) + [url.path, refURL.path]).first)
        let expected = try NpyArray.read(from: refURL)

        var volume = try NiftiFile(path: url.path).readImage()
        if canonical { volume = try volume.canonical() }
        #expect(volume.shape == expected.shape)
        #expect(volume.shape == ref["shape"] as? [Int])
        let difference = relativeDifference(volume.cOrderValues(), expected.values(as: Float.self))
        #expect(difference <= 1e-6, "\(name): largest relative difference \(difference)")
        let affine = try #require(Oracle.affine(ref["affine"]))
        #expect(volume.affine.maxDifference(to: affine) < 1e-6, "\(name)\n\(volume.affine)\nnibabel\n\(affine)")
        #expect(try volume.orientation().codes == ref["axisCodes"] as? [String])
        if canonical { #expect(try volume.orientation().codes == ["R", "A", "S"]) }
    }

    /// functional.nii stores int16 with scl_slope 0.0754 and scl_inter 3100.76: the values
    /// are scaled (and nibabel agrees, above); its labels view is the raw integers.
    @Test func slopeAndInterceptApplyToImagesNotLabels() throws {
        let file = try NiftiFile(path: NibabelFiles.url("functional.nii").path)
        let scaling = try #require(file.header.scaling)
        #expect(abs(scaling.slope - 0.07540696859359741) < 1e-12 && abs(scaling.intercept - 3100.76171875) < 1e-9)
        let image = try file.readImage()
        let labels = try file.readLabels()
        #expect(image.values.count == labels.values.count)
        for k in stride(from: 0, to: labels.values.count, by: 97) {
            let expected = Float(Double(labels.values[k]) * scaling.slope + scaling.intercept)
            #expect(image.values[k] == expected)
        }
        #expect(zip(labels.values, image.values).contains { Float($0) != $1 }, "labels are the raw stored integers")
    }

    /// The C-order export is numpy's layout of nibabel's array: a[i, j, k] is voxel (i, j, k).
    @Test func cOrderIsXYZ() throws {
        let values = (0..<(2 * 3 * 4)).map { Float($0) }   // x fastest: value = i + 2 * (j + 3 * k)
        let volume = Volume(shape: [2, 3, 4], values: values, affine: .identity)
        let c = volume.cOrderValues()
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 {
            #expect(c[(i * 3 + j) * 4 + k] == Float(i + 2 * (j + 3 * k)))
        } } }
        #expect(volume[1, 2, 3] == Float(1 + 2 * (2 + 3 * 3)))
    }
}
