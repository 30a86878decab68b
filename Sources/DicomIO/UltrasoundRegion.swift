/// One item of the Sequence of Ultrasound Regions (0018,6011): where on the image a
/// tissue sector, a Doppler strip or an ECG trace lies, and its physical calibration.
///
/// The region box is inclusive (`minX0...maxX1`, `minY0...maxY1`) in pixel columns and rows.
/// Files in the field carry boxes that lie outside the image (a downsampled export kept
/// the full-size box), so check `isInside(rows:columns:)` before cropping to one.
public struct UltrasoundRegion: Equatable, Sendable, Codable {
    public var minX0: Int
    public var minY0: Int
    public var maxX1: Int
    public var maxY1: Int
    /// RegionSpatialFormat: 0 none, 1 2D (tissue or colour flow), 2 M-mode, 3 spectral, 4 waveform, 5 graphics.
    public var spatialFormat: Int?
    /// RegionDataType: 1 tissue, 2 colour flow, 3 PW Doppler, 4 CW Doppler, 9 ECG trace, ...
    public var dataType: Int?
    public var flags: Int?
    public var physicalUnitsX: Int?
    public var physicalUnitsY: Int?
    public var physicalDeltaX: Double?
    public var physicalDeltaY: Double?
    public var referencePixelX0: Int?
    public var referencePixelY0: Int?
    /// Every element of the item, keyword -> value as text, for reports and `dicom info`.
    public var fields: [String: String]

    public init(minX0: Int, minY0: Int, maxX1: Int, maxY1: Int, spatialFormat: Int? = nil, dataType: Int? = nil,
                flags: Int? = nil, physicalUnitsX: Int? = nil, physicalUnitsY: Int? = nil,
                physicalDeltaX: Double? = nil, physicalDeltaY: Double? = nil,
                referencePixelX0: Int? = nil, referencePixelY0: Int? = nil, fields: [String: String] = [:]) {
        self.minX0 = minX0; self.minY0 = minY0; self.maxX1 = maxX1; self.maxY1 = maxY1
        self.spatialFormat = spatialFormat; self.dataType = dataType; self.flags = flags
        self.physicalUnitsX = physicalUnitsX; self.physicalUnitsY = physicalUnitsY
        self.physicalDeltaX = physicalDeltaX; self.physicalDeltaY = physicalDeltaY
        self.referencePixelX0 = referencePixelX0; self.referencePixelY0 = referencePixelY0
        self.fields = fields
    }

    public var width: Int { maxX1 - minX0 + 1 }
    public var height: Int { maxY1 - minY0 + 1 }

    /// A 2D tissue image region (the B-mode sector): spatial format 1 and data type 1.
    public var isTissue2D: Bool { spatialFormat == 1 && dataType == 1 }

    /// Whether the box is well formed and lies within an image of the given size.
    public func isInside(rows: Int, columns: Int) -> Bool {
        minX0 >= 0 && minY0 >= 0 && maxX1 < columns && maxY1 < rows && minX0 < maxX1 && minY0 < maxY1
    }

    static let tags = (
        spatialFormat: DicomTag(0x0018, 0x6012), dataType: DicomTag(0x0018, 0x6014), flags: DicomTag(0x0018, 0x6016),
        minX0: DicomTag(0x0018, 0x6018), minY0: DicomTag(0x0018, 0x601A), maxX1: DicomTag(0x0018, 0x601C), maxY1: DicomTag(0x0018, 0x601E),
        referencePixelX0: DicomTag(0x0018, 0x6020), referencePixelY0: DicomTag(0x0018, 0x6022),
        unitsX: DicomTag(0x0018, 0x6024), unitsY: DicomTag(0x0018, 0x6026),
        deltaX: DicomTag(0x0018, 0x602C), deltaY: DicomTag(0x0018, 0x602E)
    )

    /// Reads every region item of a dataset; items without a complete box are skipped.
    public static func regions(in dataset: DicomItem) -> [UltrasoundRegion] {
        dataset.items(.sequenceOfUltrasoundRegions).compactMap { item in
            guard let minX0 = item.int(tags.minX0), let minY0 = item.int(tags.minY0),
                  let maxX1 = item.int(tags.maxX1), let maxY1 = item.int(tags.maxY1) else { return nil }
            var fields: [String: String] = [:]
            for (key, value) in item.allValues() { fields[key] = value.text }
            return UltrasoundRegion(
                minX0: minX0, minY0: minY0, maxX1: maxX1, maxY1: maxY1,
                spatialFormat: item.int(tags.spatialFormat), dataType: item.int(tags.dataType), flags: item.int(tags.flags),
                physicalUnitsX: item.int(tags.unitsX), physicalUnitsY: item.int(tags.unitsY),
                physicalDeltaX: item.double(tags.deltaX), physicalDeltaY: item.double(tags.deltaY),
                referencePixelX0: item.int(tags.referencePixelX0), referencePixelY0: item.int(tags.referencePixelY0),
                fields: fields)
        }
    }
}

/// Cine timing, from whichever of FrameTime, FrameTimeVector or CineRate the file has.
public struct FrameTiming: Equatable, Sendable, Codable {
    /// Milliseconds per frame (FrameTime).
    public var frameTime: Double?
    /// Milliseconds between consecutive frames, the first entry 0 (FrameTimeVector).
    public var frameTimeVector: [Double]?
    /// Frames per second (CineRate).
    public var cineRate: Double?
    /// Frames per second (RecommendedDisplayFrameRate).
    public var recommendedDisplayFrameRate: Double?

    public init(frameTime: Double?, frameTimeVector: [Double]?, cineRate: Double?, recommendedDisplayFrameRate: Double?) {
        self.frameTime = frameTime
        self.frameTimeVector = frameTimeVector
        self.cineRate = cineRate
        self.recommendedDisplayFrameRate = recommendedDisplayFrameRate
    }

    public init(dataset: DicomItem) {
        frameTime = dataset.double(.frameTime)
        let vector = dataset.doubles(.frameTimeVector)
        frameTimeVector = vector.isEmpty ? nil : vector
        cineRate = dataset.double(.cineRate)
        recommendedDisplayFrameRate = dataset.double(.recommendedDisplayFrameRate)
    }

    /// The acquisition frame rate in frames per second, when any timing is present.
    public var framesPerSecond: Double? {
        if let frameTime, frameTime > 0 { return 1000 / frameTime }
        if let vector = frameTimeVector, vector.count > 1 {
            let intervals = vector.dropFirst()
            let mean = intervals.reduce(0, +) / Double(intervals.count)
            if mean > 0 { return 1000 / mean }
        }
        if let cineRate, cineRate > 0 { return cineRate }
        if let recommendedDisplayFrameRate, recommendedDisplayFrameRate > 0 { return recommendedDisplayFrameRate }
        return nil
    }
}
