import Foundation
import NiftiIO
import Testing
import TestSupport

@Suite struct HeaderVersionTests {
    /// nibabel's test files: example_nifti2.nii.gz is NIfTI-2, the others NIfTI-1 (nibabel's
    /// own `Nifti2Image` / `Nifti1Image` classes load them).
    @Test(arguments: [("example_nifti2.nii.gz", NiftiHeaderVersion.nifti2), ("anatomical.nii", .nifti1),
                      ("example4d.nii.gz", .nifti1), ("functional.nii", .nifti1)])
    func versionFromSizeofHdr(name: String, version: NiftiHeaderVersion) throws {
        let url = try TestPaths.testData("nibabel/nibabel/tests/data/\(name)")
        #expect(try NiftiHeaderVersion(path: url.path) == version)
    }

    @Test func notNifti() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("x.nii")
        try Data("not a volume".utf8).write(to: url)
        #expect(throws: NiftiError.self) { try NiftiHeaderVersion(path: url.path) }
    }
}
