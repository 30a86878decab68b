import Foundation

/// The header facts `medcil dicom info` shows and conversion reports rely on.
public struct DicomSummary: Codable, Sendable, Equatable {
    public struct Syntax: Codable, Sendable, Equatable {
        public var uid: String
        public var name: String
        public var decodable: Bool
    }

    public var path: String
    public var hasMetaHeader: Bool
    public var transferSyntax: Syntax
    public var sopClassUID: String?
    public var modality: String?
    public var manufacturer: String?
    public var seriesDescription: String?
    public var rows: Int?
    public var columns: Int?
    public var numberOfFrames: Int?
    public var samplesPerPixel: Int?
    public var bitsAllocated: Int?
    public var bitsStored: Int?
    public var highBit: Int?
    public var pixelRepresentation: Int?
    public var photometricInterpretation: String?
    public var planarConfiguration: Int?
    public var hasPixelData: Bool
    public var ultrasoundRegions: [UltrasoundRegion]
    public var frameTiming: FrameTiming
    public var framesPerSecond: Double?
    public var patientID: String?
    public var studyInstanceUID: String?
    public var seriesInstanceUID: String?
    public var sopInstanceUID: String?

    public init(file: DicomFile) {
        let ds = file.dataset
        path = file.path
        hasMetaHeader = file.hasMetaHeader
        let syntax = file.transferSyntax
        transferSyntax = Syntax(uid: syntax.uid, name: syntax.name, decodable: syntax.isDecodable)
        sopClassUID = ds.string(.sopClassUID) ?? file.meta?.string(DicomTag(0x0002, 0x0002))
        modality = ds.string(.modality)
        manufacturer = ds.string(.manufacturer)
        seriesDescription = ds.string(.seriesDescription)
        rows = ds.int(.rows)
        columns = ds.int(.columns)
        numberOfFrames = ds.string(.numberOfFrames).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        samplesPerPixel = ds.int(.samplesPerPixel)
        bitsAllocated = ds.int(.bitsAllocated)
        bitsStored = ds.int(.bitsStored)
        highBit = ds.int(.highBit)
        pixelRepresentation = ds.int(.pixelRepresentation)
        photometricInterpretation = ds.string(.photometricInterpretation)
        planarConfiguration = ds.int(.planarConfiguration)
        hasPixelData = ds.contains(.pixelData)
        ultrasoundRegions = UltrasoundRegion.regions(in: ds)
        frameTiming = FrameTiming(dataset: ds)
        framesPerSecond = frameTiming.framesPerSecond
        patientID = ds.string(.patientID)
        studyInstanceUID = ds.string(.studyInstanceUID)
        seriesInstanceUID = ds.string(.seriesInstanceUID)
        sopInstanceUID = ds.string(.sopInstanceUID)
    }
}
