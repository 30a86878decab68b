import DicomIO

/// A phantom hospital site: its views (canonical class and the site's own label for it),
/// its machine's look, and how it exports (transfer syntax, where labels live).
/// The four sites mirror the seed work's structure: an 8-view base site, a 2-view site, an
/// 11-view site and a site with 4 contrast views.
public struct EchoPhantomSite: Sendable {
    public enum LabelLocation: String, Sendable {
        case seriesDescription = "SeriesDescription"
        case csvSheet = "labels.csv"
        case folderName = "folder names"
    }

    public enum Timing: String, Sendable { case frameTime, frameTimeVector, cineRate }

    public let name: String
    public let summary: String
    /// (canonical class, the site's raw label)
    public let views: [(canonical: String, raw: String)]
    let style: EchoMachineStyle
    public let transferSyntax: TransferSyntax
    /// 0 interleaved, 1 by plane (uncompressed RGB only).
    let planarConfiguration: Int
    public let labelLocation: LabelLocation
    let writesRegions: Bool
    let timing: Timing
    let manufacturer: String

    public static let all: [EchoPhantomSite] = [a, b, c, d]

    public static func named(_ name: String) -> EchoPhantomSite? { all.first { $0.name == name } }

    /// Base site (like WASE): 8 non-contrast views, JPEG Baseline YBR_FULL_422, labels in
    /// SeriesDescription, patient name and birth date in the folder names.
    static let a = EchoPhantomSite(
        name: "a", summary: "8-view base site, JPEG Baseline YBR_FULL_422, labels in SeriesDescription",
        views: [("A2C", "AP2"), ("A3C", "AP3 LAX"), ("A4C", "AP4"), ("A5C", "AP5"), ("PLAX", "PLAX"),
                ("PLAX-AV", "PLAX AV zoom"), ("PSAX-AV", "PSAX AV"), ("PSAX-PM", "PSAX PM")],
        // 2.5 MHz adult probe, 16 cm, wide 90-degree sector, mid dynamic range, light smoothing.
        style: EchoMachineStyle(rows: 360, columns: 480, apexX: 0.5, apexY: 30, radius: 285, halfAngle: 45, depthCentimetres: 16,
                                gain: 1.0, attenuation: 0.9, timeGainCompensation: 0.5, probeMegahertz: 2.5, dynamicRange: 50, gamma: 1.3,
                                smoothing: 1, persistence: 0.3, colour: true, textColour: (235, 235, 120), ecgColour: (40, 220, 60),
                                framesPerCine: 16...20, framesPerSecond: 30),
        transferSyntax: .jpegBaseline, planarConfiguration: 0, labelLocation: .seriesDescription, writesRegions: true,
        timing: .frameTime, manufacturer: "MedCIL Phantom Vivid")

    /// Two-view site (like CAMUS): uncompressed RGB with planar configuration 1, labels in a
    /// CSV sheet.
    static let b = EchoPhantomSite(
        name: "b", summary: "2-view site, uncompressed RGB planar 1, labels in a CSV sheet",
        views: [("A2C", "2CH"), ("A4C", "4CH")],
        // 3.5 MHz probe zoomed to 13 cm, narrow 60-degree sector, small dynamic range (contrasty),
        // no smoothing or persistence, 25 frames/s.
        style: EchoMachineStyle(rows: 300, columns: 400, apexX: 0.5, apexY: 24, radius: 235, halfAngle: 30, depthCentimetres: 13,
                                gain: 1.25, attenuation: 1.2, timeGainCompensation: 1.2, probeMegahertz: 3.5, dynamicRange: 38, gamma: 0.85,
                                smoothing: 0, persistence: 0, colour: true, textColour: (255, 255, 255), ecgColour: (230, 200, 40),
                                framesPerCine: 12...16, framesPerSecond: 25),
        transferSyntax: .explicitVRLittleEndian, planarConfiguration: 1, labelLocation: .csvSheet, writesRegions: true,
        timing: .frameTime, manufacturer: "MedCIL Phantom Sonic")

    /// Eleven-view site (like MedStar): RLE MONOCHROME2, labels are the folder names; some
    /// files carry a region box from a larger original that lies outside the image.
    static let c = EchoPhantomSite(
        name: "c", summary: "11-view site, RLE MONOCHROME2, labels in folder names",
        views: [("A2C", "Apical 2 Chamber"), ("A3C", "Apical 3 Chamber"), ("A4C", "Apical 4 Chamber"), ("A5C", "Apical 5 Chamber"),
                ("PLAX", "Parasternal Long Axis"), ("PLAX-AV", "PLAX Aortic Valve"), ("PSAX-AV", "PSAX Aortic Valve"),
                ("PSAX-PM", "PSAX Papillary Muscle"), ("RV", "RV Focused"), ("SC", "Subcostal 4 Chamber"), ("SC-IVC", "Subcostal IVC")],
        // 1.7 MHz penetration probe at 20 cm (coarse speckle, small heart), 80-degree sector,
        // wide dynamic range with a dark grey map, heavy smoothing and persistence, 50 frames/s.
        style: EchoMachineStyle(rows: 340, columns: 440, apexX: 0.48, apexY: 28, radius: 265, halfAngle: 40, depthCentimetres: 20,
                                gain: 0.85, attenuation: 0.7, timeGainCompensation: 0.2, probeMegahertz: 1.7, dynamicRange: 66, gamma: 1.7,
                                smoothing: 2, persistence: 0.5, colour: false, textColour: (220, 220, 220), ecgColour: (200, 200, 200),
                                framesPerCine: 16...20, framesPerSecond: 50),
        transferSyntax: .rleLossless, planarConfiguration: 0, labelLocation: .folderName, writesRegions: true,
        timing: .frameTimeVector, manufacturer: "MedCIL Phantom Epiq")

    /// Contrast site (like St George's): 4 LV-opacification views, Explicit VR Little Endian
    /// MONOCHROME2 without a Sequence of Ultrasound Regions (the sector must be found from
    /// motion), files without extension.
    static let d = EchoPhantomSite(
        name: "d", summary: "4 contrast-view site, uncompressed MONOCHROME2 without ultrasound regions",
        views: [("contrast-A2C", "LVO 2CH"), ("contrast-A3C", "LVO 3CH"), ("contrast-A4C", "LVO 4CH"), ("contrast-PLAX", "LVO PLAX")],
        // 3 MHz contrast preset (low mechanical index): 17 cm, 70-degree sector, strong
        // attenuation little compensated, bright grey map, light smoothing, 20 frames/s.
        style: EchoMachineStyle(rows: 320, columns: 420, apexX: 0.52, apexY: 26, radius: 250, halfAngle: 35, depthCentimetres: 17,
                                gain: 0.9, attenuation: 1.5, timeGainCompensation: 0.3, probeMegahertz: 3.0, dynamicRange: 45, gamma: 1.0,
                                smoothing: 1, persistence: 0.2, colour: false, textColour: (255, 255, 255), ecgColour: (180, 180, 180),
                                framesPerCine: 14...18, framesPerSecond: 20),
        transferSyntax: .explicitVRLittleEndian, planarConfiguration: 0, labelLocation: .seriesDescription, writesRegions: false,
        timing: .cineRate, manufacturer: "MedCIL Phantom Acuson")
}
