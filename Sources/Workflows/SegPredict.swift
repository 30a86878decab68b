import DataLoading
import Foundation
import Ingest
import Segmentation
import TensorCore

/// `medcil seg predict` as a library: a NIfTI volume through a segmentation model to a NIfTI
/// label map with the input's shape and affine. The volume is prepared exactly as the
/// training site's conversion prepared its slices (its dataset.json gives slice axis, spacing,
/// size, fit and intensity normalisation); each structure gets its canonical class index (the
/// taxonomy's, e.g. humerus 1, scapula 2). Heads are independent, so a voxel two heads claim
/// takes the structure of the later head (the later increment).
public struct SegPredict {
    public var model: SegmentationModel
    public var predictor: VolumePredictor
    /// Per structure (in head order): its canonical label value.
    public var labels: [(structure: String, value: UInt8)]

    /// `data`: the converted site folder (with dataset.json) whose preparation the input gets.
    public init(model: SegmentationModel, data: URL) throws {
        let description = try SliceDescription.load(from: data)
        var geometry = MRGeometrySpec()
        guard let axis = MRGeometrySpec.SliceAxis(rawValue: description.geometry.sliceAxis),
              let fit = MRGeometrySpec.Fit(rawValue: description.geometry.fit),
              let normalization = MRIntensitySpec.Normalization(rawValue: description.intensity.normalization) else {
            throw SegmentationError.invalid("\(data.path)/dataset.json: slice axis, fit or normalisation is not one MedCIL knows")
        }
        geometry.sliceAxis = axis
        geometry.spacing = description.geometry.targetSpacing
        geometry.size = description.geometry.size
        geometry.fit = fit
        guard geometry.size == model.description.imageSize else {
            throw SegmentationError.invalid("\(data.path) prepares \(geometry.size) slices, the model was trained on \(model.description.imageSize)")
        }
        var intensity = MRIntensitySpec()
        intensity.clipPercentiles = description.intensity.clipPercentiles
        intensity.normalization = normalization
        predictor = VolumePredictor(geometry: geometry, intensity: intensity)
        labels = try model.structures.map { structure in
            guard let index = description.classes.firstIndex(of: structure), index > 0, index < 256 else {
                throw SegmentationError.invalid("\(structure) is not a class of \(data.path)/dataset.json (\(description.classes))")
            }
            return (structure, UInt8(index))
        }
        self.model = model
    }

    /// Writes the label map of `input` to `output` (.nii or .nii.gz).
    @discardableResult
    public func predict(input: URL, output: URL) throws -> VolumePredictor.Report {
        let (h, w) = (model.description.imageSize[0], model.description.imageSize[1])
        let segmenters = labels.map { ($0.value, model.segmenter(of: $0.structure)!) }
        return try predictor.predict(input: input, output: output) { slice in
            let image = Tensor(slice, shape: [1, 1, h, w])
            var out = [UInt8](repeating: 0, count: h * w)
            for (value, (network, head, label)) in segmenters {
                let predicted = try HeadPrediction.labels(model: network, head: head, images: image)[0]
                for k in predicted.indices where predicted[k] == label { out[k] = value }
            }
            return out
        }
    }
}
