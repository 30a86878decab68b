import ArrayFiles
import Foundation
import Ingest
import NiftiIO
import TestSupport
import Testing

struct NibabelOverlay: Decodable {
    var inputShape: [Int]
    var labelShape: [Int]
    var inputAffine: [[Double]]
    var labelAffine: [[Double]]
    var labelDtype: String
}

@Suite struct VolumePredictorTests {
    /// A stored grid that is not RAS+: axis 0 runs posterior (0.9 mm), axis 1 superior (3 mm),
    /// axis 2 left (0.8 mm), with an offset origin.
    static let shape = [21, 7, 18]
    static let affine = Affine(rows: [[0, 0, -0.8, 40], [-0.9, 0, 0, 20], [0, 3, 0, -15], [0, 0, 0, 1]])

    /// A blob of value 100 on 0 (x fastest), off-centre so that flips and permutations show.
    static func volume() -> [Float] {
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        for k in 0..<shape[2] {
            for j in 0..<shape[1] {
                for i in 0..<shape[0] {
                    let r = pow(Double(i - 7) / 6, 2) + pow(Double(j - 2) / 2.5, 2) + pow(Double(k - 11) / 5, 2)
                    if r <= 1 { values[(k * shape[1] + j) * shape[0] + i] = 100 }
                }
            }
        }
        return values
    }

    /// Predicts with "label 1 where the normalised slice is above the midpoint of the
    /// normalised 0 and 100", then reads input and labels with nibabel.
    func run(_ geometry: MRGeometrySpec, _ name: String) throws -> (NibabelOverlay, [Float], [Float], VolumePredictor.Report) {
        let folder = TestPaths.temporaryDirectory("predict-\(name)")
        let input = folder.appendingPathComponent("volume.nii.gz"), output = folder.appendingPathComponent("labels.nii.gz")
        try NiftiWriter.write(.float32(Self.volume()), shape: Self.shape, affine: Self.affine, to: input)
        var intensity = MRIntensitySpec()
        intensity.normalization = .minmax
        let predictor = VolumePredictor(geometry: geometry, intensity: intensity)
        let report = try predictor.predict(input: input, output: output) { slice in
            #expect(slice.count == geometry.height * geometry.width)
            return slice.map { $0 > 0.5 ? 1 : 0 }
        }
        let a = folder.appendingPathComponent("a.npy"), b = folder.appendingPathComponent("b.npy")
        let json = try runOracle("nibabel_overlay.py", [input.path, output.path, a.path, b.path])
        let overlay = try JSONDecoder().decode(NibabelOverlay.self, from: Data(json.utf8))
        let values = (try NpyArray.read(from: a).floatValues(), try NpyArray.read(from: b).floatValues())
        try? FileManager.default.removeItem(at: folder)
        return (overlay, values.0, values.1, report)
    }

    func checkGrid(_ overlay: NibabelOverlay) {
        #expect(overlay.labelShape == Self.shape && overlay.inputShape == Self.shape)
        #expect(zip(overlay.labelAffine.joined(), Self.affine.elements).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(overlay.labelAffine == overlay.inputAffine)
        #expect(overlay.labelDtype == "uint8")
    }

    /// Padding only (every slice fits): the labels are exactly the thresholded input, voxel for
    /// voxel, as nibabel reads both, whichever axis the slices are cut across.
    @Test(arguments: [MRGeometrySpec.SliceAxis.axial, .coronal, .sagittal])
    func paddedSlicesComeBackExactly(_ axis: MRGeometrySpec.SliceAxis) throws {
        var geometry = MRGeometrySpec()
        geometry.sliceAxis = axis
        geometry.size = [25, 24]
        let (overlay, image, labels, report) = try run(geometry, axis.rawValue)
        checkGrid(overlay)
        #expect(report.axisCodes != ["R", "A", "S"])
        #expect(labels == image.map { $0 > 50 ? 1 : 0 })
        #expect(labels.contains(1))
    }

    /// Cropping, resampling to another spacing and resizing lose detail but never the grid:
    /// shape and affine are the input's, and the labels still overlap the blob.
    @Test func resampledAndCroppedSlicesKeepTheGrid() throws {
        var cropped = MRGeometrySpec()
        cropped.size = [12, 10]
        var resized = MRGeometrySpec()
        resized.spacing = [1.3, 1.1]
        resized.size = [16, 16]
        resized.fit = .resize
        for (name, geometry) in [("crop", cropped), ("resize", resized)] {
            let (overlay, image, labels, _) = try run(geometry, name)
            checkGrid(overlay)
            let truth = image.map { $0 > 50 }, predicted = labels.map { $0 == 1 }
            let both = zip(truth, predicted).filter { $0 && $1 }.count
            let dice = 2 * Double(both) / Double(truth.filter { $0 }.count + predicted.filter { $0 }.count)
            // The 12x10 crop cuts off part of the blob (Dice 0.78 measured); resampling keeps most.
            #expect(dice > (name == "crop" ? 0.6 : 0.8), "\(name): Dice \(dice)")
            if name == "crop" { #expect(zip(truth, predicted).allSatisfy { !$1 || $0 }, "cropping only removes labels") }
        }
    }

    @Test func badInputsAreRefused() throws {
        let folder = TestPaths.temporaryDirectory("predict-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("volume.nii")
        try NiftiWriter.write(.float32(Self.volume()), shape: Self.shape, affine: Self.affine, to: input)
        let predictor = VolumePredictor(geometry: MRGeometrySpec(), intensity: MRIntensitySpec())
        #expect(throws: VolumePredictionError.self) {
            try predictor.predict(input: folder.appendingPathComponent("missing.nii"), output: folder.appendingPathComponent("x.nii")) { _ in [] }
        }
        #expect(throws: VolumePredictionError.self) {
            try predictor.predict(input: input, output: folder.appendingPathComponent("y.nii")) { _ in [0] }
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("y.nii").path))
    }
}
