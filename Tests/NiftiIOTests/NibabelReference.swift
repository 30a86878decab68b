import ArrayFiles
import Foundation
import NiftiIO
import TestSupport

/// The real NIfTI files of the nibabel wheel (fetched by scripts/fetch-testdata.sh) and
/// helpers to ask nibabel about them. Missing files make tests fail, never skip.
enum NibabelFiles {
    /// Every single-file NIfTI in nibabel/tests/data: big endian (anatomical, the two
    /// *_anat_moved), NIfTI-2 with extensions (example_nifti2), 4D with extensions
    /// (example4d), 4D int16 with slope and intercept (functional), sform only (standard),
    /// and a NIfTI-2 CIFTI matrix without any transform (row_major.dconn).
    static let all = ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "functional.nii",
                      "reoriented_anat_moved.nii", "resampled_anat_moved.nii", "standard.nii.gz", "row_major.dconn.nii"]

    /// Those with a spatial transform (sform or qform), whose affine nibabel and NIfTI agree on.
    static let oriented = all.filter { $0 != "row_major.dconn.nii" }

    static func url(_ name: String) throws -> URL { try TestPaths.testData("nibabel/nibabel/tests/data/\(name)") }
}

enum Oracle {
    static func json(_ script: String, _ arguments: [String]) throws -> Any {
        let output = try runOracle(script, arguments)
        return try JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    static func jsonLines(_ script: String, _ arguments: [String]) throws -> [[String: Any]] {
        try runOracle(script, arguments).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func affine(_ value: Any?) -> Affine? {
        guard let rows = value as? [[Double]] else { return nil }
        return Affine(rows: rows)
    }
}

/// Largest |a - b| relative to max(1, |b|), and the count of positions that differ in NaN-ness.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN {
            if x.isNaN != y.isNaN { return .infinity }
            continue
        }
        worst = max(worst, Double(abs(x - y)) / max(1, Double(abs(y))))
    }
    return worst
}
