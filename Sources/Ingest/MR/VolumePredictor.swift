import Foundation
import NiftiIO

/// Slice-wise prediction of a NIfTI volume into a NIfTI label map on the input's own grid.
///
/// Forward, exactly as `medcil convert mr` prepares slices (MRVolumeProcessor): reorient to
/// RAS+ (axis permutation and flips, no resampling), normalise the intensities with the
/// volume's own clip percentiles, cut slices across the configured canonical axis, resample
/// each plane to the target spacing (if any) and fit it to the output size (centred pad/crop,
/// or resize). A per-slice function labels each output slice. Backward, each output pixel
/// label returns to the plane it came from: a canonical plane pixel (r, c) takes the label of
/// the output pixel its centre maps to (nearest neighbour through the resampling, the pad
/// offset, or the resize), background where cropping cut it away; planes stack into the
/// canonical volume, which the inverse permutation and flips turn back into the stored
/// layout. The map is written with the input's shape and affine (sform and qform), so that it
/// overlays the input in nibabel, ITK-SNAP and 3D Slicer.
public struct VolumePredictor: Sendable {
    public let geometry: MRGeometrySpec
    public let intensity: MRIntensitySpec

    public init(geometry: MRGeometrySpec, intensity: MRIntensitySpec) {
        self.geometry = geometry
        self.intensity = intensity
    }

    /// What a prediction was made on.
    public struct Report: Sendable, Equatable {
        public var storedShape: [Int]
        public var canonicalShape: [Int]
        public var axisCodes: [String]
        public var slices: Int
        public var labelCounts: [Int: Int]
    }

    /// Labels `input` slice by slice with `labelSlice` (a normalised output slice [H·W]
    /// row-major in, labels [H·W] out) and writes the label map to `output` (.nii or .nii.gz).
    @discardableResult
    public func predict(input: URL, output: URL, labelSlice: ([Float]) throws -> [UInt8]) throws -> Report {
        let file: NiftiFile
        do { file = try NiftiFile(path: input.path) } catch { throw VolumePredictionError.invalid("\(input.path): \(error)") }
        let header = file.header
        guard !header.shape.dropFirst(3).contains(where: { $0 > 1 }) else {
            throw VolumePredictionError.invalid("\(input.path): a \(header.shape.count)D volume (shape \(header.shape)) where a 3D volume is expected")
        }
        let orientation: AxisOrientation
        do { orientation = try AxisOrientation(affine: header.affine) } catch { throw VolumePredictionError.invalid("\(input.path): \(error)") }
        var image: Volume<Float>
        do { image = try file.readImage() } catch { throw VolumePredictionError.invalid("\(input.path): \(error)") }
        if let bad = image.values.firstIndex(where: { !$0.isFinite }) {
            throw VolumePredictionError.invalid("\(input.path): voxel \(bad) is \(image.values[bad]); the volume is unusable")
        }
        let stored = image.spatialShape
        let plan = Reorientation(sourceShape: stored, orientation: orientation)
        image = image.reoriented(plan)
        let normalization: IntensityNormalization
        do { normalization = try IntensityNormalization(values: image.values, spec: intensity) } catch {
            throw VolumePredictionError.invalid("\(input.path): \(error)")
        }
        normalization.apply(&image.values)

        let shape = image.spatialShape, spacing = image.spacing
        let axis = geometry.sliceAxis.axis, (hAxis, wAxis) = geometry.sliceAxis.planeAxes
        let (h, w) = (shape[hAxis], shape[wAxis])
        let resampler = SliceResampler(sourceSize: (h, w), spacing: (spacing[hAxis], spacing[wAxis]), targetSpacing: geometry.spacing,
                                       outputSize: (geometry.height, geometry.width), fit: geometry.fit)
        let back = PlaneInverse(resampler: resampler)
        let strides = [1, shape[0], shape[0] * shape[1]]
        var canonical = [UInt8](repeating: 0, count: image.values.count)
        var plane = [Float](repeating: 0, count: h * w)
        for s in 0..<shape[axis] {
            let base = s * strides[axis]
            for r in 0..<h { for c in 0..<w { plane[r * w + c] = image.values[base + r * strides[hAxis] + c * strides[wAxis]] } }
            let labels = try labelSlice(resampler.image(plane, padValue: normalization.floor))
            guard labels.count == geometry.height * geometry.width else {
                throw VolumePredictionError.invalid("slice \(s): \(labels.count) labels for a \(geometry.height)x\(geometry.width) slice")
            }
            for r in 0..<h {
                for c in 0..<w { canonical[base + r * strides[hAxis] + c * strides[wAxis]] = back.label(labels, row: r, column: c) }
            }
        }
        let values = Self.unreorient(canonical, plan: plan)
        do {
            try NiftiWriter.write(.uint8(values), shape: stored, affine: header.affine, to: output)
        } catch {
            throw VolumePredictionError.invalid("\(output.path): \(error)")
        }
        var counts: [Int: Int] = [:]
        for v in values { counts[Int(v), default: 0] += 1 }
        return Report(storedShape: stored, canonicalShape: shape, axisCodes: orientation.codes, slices: shape[axis], labelCounts: counts)
    }

    /// The stored-layout (x-fastest) array of a canonical one: out[stored index of canonical
    /// voxel (i, j, k)] = canonical[i, j, k], the inverse of `Reorientation.apply`.
    static func unreorient<T>(_ canonical: [T], plan: Reorientation) -> [T] {
        let source = plan.sourceShape, n = plan.shape
        let sourceStride = [1, source[0], source[0] * source[1]]
        var out = canonical
        var index = 0
        for k in 0..<n[2] {
            for j in 0..<n[1] {
                for i in 0..<n[0] {
                    var s = 0
                    for (o, q) in [i, j, k].enumerated() {
                        let a = plan.sourceAxis[o]
                        s += (plan.flipped[o] ? source[a] - 1 - q : q) * sourceStride[a]
                    }
                    out[s] = canonical[index]
                    index += 1
                }
            }
        }
        return out
    }
}

/// Where each pixel of a plane lands in the output slice (the inverse of SliceResampler's
/// nearest-neighbour path): plane index p → resampled index floor((p + 0.5) · m / n) when the
/// plane was resampled from n to m pixels, then + (output − m) / 2 (Swift's truncating
/// division, SliceResampler's centring) for pad/crop, or floor((q + 0.5) · out / m) for resize.
struct PlaneInverse {
    let rows: [Int?]
    let columns: [Int?]
    let width: Int

    init(resampler: SliceResampler) {
        func map(_ source: Int, _ resampled: Int, _ output: Int) -> [Int?] {
            (0..<source).map { p -> Int? in
                let q = Self.nearest(p, from: source, to: resampled)
                switch resampler.fit {
                case .resize:
                    return resampled == output ? q : Self.nearest(q, from: resampled, to: output)
                case .pad:
                    let o = q + (output - resampled) / 2
                    return o >= 0 && o < output ? o : nil
                }
            }
        }
        rows = map(resampler.sourceSize.0, resampler.resampledSize.0, resampler.outputSize.0)
        columns = map(resampler.sourceSize.1, resampler.resampledSize.1, resampler.outputSize.1)
        width = resampler.outputSize.1
    }

    static func nearest(_ p: Int, from n: Int, to m: Int) -> Int {
        n == m ? p : min(Int(((Double(p) + 0.5) * Double(m) / Double(n)).rounded(.down)), m - 1)
    }

    /// The label of plane pixel (row, column): its output pixel's, or 0 where it was cropped away.
    func label(_ labels: [UInt8], row: Int, column: Int) -> UInt8 {
        guard let r = rows[row], let c = columns[column] else { return 0 }
        return labels[r * width + c]
    }
}

/// Why a volume could not be predicted: the file and the reason, in one line.
public enum VolumePredictionError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let why): return why
        }
    }
}
