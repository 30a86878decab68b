import Foundation
import NiftiIO
import Support

/// One image volume and its label volume -> normalised canonical slices and their masks:
/// read (libnifti2), check that both are 3D on the same grid, map label values to canonical
/// classes, reorient both to RAS+ (permutation and flips only), normalise the image's
/// intensities, and cut slices along the configured axis, each fitted to the output size.
/// Slices are handed to a sink one at a time, so a volume's outputs never sit in memory whole.
public struct MRVolumeProcessor: Sendable {
    public let geometry: MRGeometrySpec
    public let intensity: MRIntensitySpec
    public let labelMap: MRLabelMap
    public let unlisted: MRUnlistedPolicy
    public let affineTolerance: Double
    public let limits: NiftiLimits
    /// Most pixels a side of a slice after in-plane resampling (a 16384-pixel side is 8 m at
    /// 0.5 mm; anything beyond comes from a broken header).
    static let maxResampledSide = 16384

    public init(config: MRConverterConfig, labelMap: MRLabelMap) {
        geometry = config.geometry
        intensity = config.intensity
        self.labelMap = labelMap
        unlisted = config.unlistedValues
        affineTolerance = config.pairing.affineTolerance
        limits = config.limits
    }

    /// Why a pair cannot be converted: which of the two files, and one line saying why.
    public struct Failure: Error, CustomStringConvertible {
        /// The file at fault; `pair` for problems between the two (grids that differ).
        public enum Culprit: String, Sendable { case image, label, pair }
        public let culprit: Culprit
        public let reason: String
        /// Label values not in the map, with voxel counts (unlisted_values: error).
        public var unlistedValues: [Int32: Int] = [:]
        public var description: String { reason }
    }

    /// What one volume became (everything but the slice pixels).
    public struct Result: Sendable {
        public var storedShape: [Int]
        public var canonicalShape: [Int]
        public var storedAffine: Affine
        public var canonicalAffine: Affine
        public var storedAxisCodes: [String]
        /// Voxel sizes of the canonical axes (mm).
        public var canonicalSpacing: [Double]
        /// Pixel spacing [H, W] of the output slices (mm).
        public var sliceSpacing: [Double]
        /// Plane size [H, W] after resampling, before fitting.
        public var resampledSize: [Int]
        public var normalization: IntensityNormalization
        /// Label values the map does not list, set to 0 (unlisted_values: ignore).
        public var ignoredValues: [Int32: Int]
        public var slices: [SliceSummary]
    }

    public struct SliceSummary: Sendable, Codable, Equatable {
        /// Slice index along the canonical slice axis.
        public var index: Int
        /// Pixels per canonical class index (background included) in the output mask.
        public var classPixels: [Int]
        /// Sum and sum of squares of the output image's values.
        public var sum: Double
        public var sumSquares: Double

        enum CodingKeys: String, CodingKey {
            case index, sum
            case classPixels = "class_pixels"
            case sumSquares = "sum_squares"
        }
    }

    /// Processes one pair; `sink(index, image, mask)` receives each output slice ([H, W]
    /// row-major) in slice order and may throw to stop.
    public func process(image imageURL: URL, label labelURL: URL,
                        sink: (Int, [Float], [UInt8]) throws -> Void) throws -> Result {
        func fail(_ culprit: Failure.Culprit, _ reason: String) -> Failure { Failure(culprit: culprit, reason: reason) }
        let imageFile: NiftiFile, labelFile: NiftiFile
        do { imageFile = try NiftiFile(path: imageURL.path, limits: limits) } catch { throw fail(.image, "image: \(error)") }
        do { labelFile = try NiftiFile(path: labelURL.path, limits: limits) } catch { throw fail(.label, "label volume: \(error)") }
        let ih = imageFile.header, lh = labelFile.header
        for (culprit, header) in [(Failure.Culprit.image, ih), (.label, lh)] where header.volumeShape.dropFirst(3).contains(where: { $0 > 1 }) {
            throw fail(culprit, "\(culprit == .image ? "image" : "label volume"): \(header.shape.count)D volume (shape \(Self.format(header.shape))) where a 3D volume is expected")
        }
        guard ih.spatialShape == lh.spatialShape else {
            throw fail(.pair, "the label grid differs from the image grid: shape \(Self.format(lh.spatialShape)) vs \(Self.format(ih.spatialShape))")
        }
        let affineDifference = ih.affine.maxDifference(to: lh.affine)
        guard affineDifference <= affineTolerance else {
            throw fail(.pair, String(format: "the label grid differs from the image grid: the affines differ by up to %.4g (pairing.affine_tolerance %g)",
                                     affineDifference, affineTolerance))
        }
        let orientation: AxisOrientation
        do { orientation = try AxisOrientation(affine: ih.affine) } catch { throw fail(.image, "image: \(error)") }

        var image: Volume<Float>
        do { image = try imageFile.readImage() } catch { throw fail(.image, "image: \(error)") }
        var nonFinite = (nan: 0, infinite: 0)
        for v in image.values where !v.isFinite { if v.isNaN { nonFinite.nan += 1 } else { nonFinite.infinite += 1 } }
        guard nonFinite == (0, 0) else {
            throw fail(.image, "image: \(nonFinite.nan) NaN and \(nonFinite.infinite) infinite voxel values (of \(image.values.count)): the volume is unusable")
        }
        let labels: Volume<Int32>
        do { labels = try labelFile.readLabels() } catch { throw fail(.label, "label volume: \(error)") }
        let (maskValues, unlistedCounts) = labelMap.apply(labels.values)
        if !unlistedCounts.isEmpty && unlisted == .error {
            let list = unlistedCounts.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) voxels)" }.joined(separator: ", ")
            var failure = fail(.label, "label volume: value\(unlistedCounts.count == 1 ? "" : "s") \(list) not in label_map (unlisted_values: error)")
            failure.unlistedValues = unlistedCounts
            throw failure
        }

        // Reorient both with the image's orientation (the grids agree within tolerance).
        let plan = Reorientation(sourceShape: image.spatialShape, orientation: orientation)
        image = image.reoriented(plan)
        let mask = Volume(shape: labels.spatialShape, values: maskValues, affine: labels.affine).reoriented(plan)
        let normalization: IntensityNormalization
        do { normalization = try IntensityNormalization(values: image.values, spec: intensity) } catch { throw fail(.image, "image: \(error)") }
        normalization.apply(&image.values)

        let shape = image.spatialShape
        let spacing = image.spacing
        let axis = geometry.sliceAxis.axis
        let (hAxis, wAxis) = geometry.sliceAxis.planeAxes
        // The resampled plane's size comes from header spacing: 1e30 mm would overflow Int
        // (a trap that ends the batch), 100 m would ask for terabytes.
        if let target = geometry.spacing {
            let resampled = [Double(shape[hAxis]) * spacing[hAxis] / target[0], Double(shape[wAxis]) * spacing[wAxis] / target[1]]
            guard resampled.allSatisfy({ $0.isFinite && $0 <= Double(Self.maxResampledSide) }) else {
                throw fail(.image, "image: pixel spacing \(spacing[hAxis]) x \(spacing[wAxis]) mm resampled to \(target[0]) x \(target[1]) mm gives slices beyond \(Self.maxResampledSide) pixels a side")
            }
        }
        let resampler = SliceResampler(sourceSize: (shape[hAxis], shape[wAxis]), spacing: (spacing[hAxis], spacing[wAxis]),
                                       targetSpacing: geometry.spacing, outputSize: (geometry.height, geometry.width), fit: geometry.fit)
        let classCount = labelMap.taxonomy.classes.count
        let pad = normalization.floor
        var slices: [SliceSummary] = []
        let strides = [1, shape[0], shape[0] * shape[1]]
        let (h, w) = (shape[hAxis], shape[wAxis])
        var imagePlane = [Float](repeating: 0, count: h * w)
        var maskPlane = [UInt8](repeating: 0, count: h * w)
        for s in 0..<shape[axis] {
            // plane[r, c] = volume[... r along hAxis, c along wAxis, s along axis]
            let base = s * strides[axis]
            let (hs, ws) = (strides[hAxis], strides[wAxis])
            Self.extractPlane(image.values, base: base, rows: h, rowStride: hs, columns: w, columnStride: ws, into: &imagePlane)
            Self.extractPlane(mask.values, base: base, rows: h, rowStride: hs, columns: w, columnStride: ws, into: &maskPlane)
            let outImage = resampler.image(imagePlane, padValue: pad)
            let outMask = resampler.mask(maskPlane)
            var pixels = [Int](repeating: 0, count: classCount)
            pixels.withUnsafeMutableBufferPointer { p in outMask.withUnsafeBufferPointer { m in for value in m { p[Int(value)] += 1 } } }
            var sum = 0.0, sumSquares = 0.0
            outImage.withUnsafeBufferPointer { values in
                for v in values { sum += Double(v); sumSquares += Double(v) * Double(v) }
            }
            try sink(s, outImage, outMask)
            slices.append(SliceSummary(index: s, classPixels: pixels, sum: sum, sumSquares: sumSquares))
        }
        return Result(storedShape: ih.spatialShape, canonicalShape: shape, storedAffine: ih.affine, canonicalAffine: image.affine,
                      storedAxisCodes: orientation.codes, canonicalSpacing: spacing,
                      sliceSpacing: resampler.outputSpacing(sourceSpacing: (spacing[hAxis], spacing[wAxis])),
                      resampledSize: [resampler.resampledSize.0, resampler.resampledSize.1],
                      normalization: normalization, ignoredValues: unlistedCounts, slices: slices)
    }

    static func format(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "x") }

    /// plane[r * columns + c] = volume[base + r * rowStride + c * columnStride].
    static func extractPlane<T>(_ volume: [T], base: Int, rows: Int, rowStride: Int, columns: Int, columnStride: Int, into plane: inout [T]) {
        volume.withUnsafeBufferPointer { v in
            plane.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows {
                    var source = base + r * rowStride
                    let row = r * columns
                    for c in 0..<columns {
                        p[row + c] = v[source]
                        source += columnStride
                    }
                }
            }
        }
    }
}
