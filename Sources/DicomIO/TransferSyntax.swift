import Foundation

/// A DICOM transfer syntax: how the dataset and its pixel data are encoded, and whether
/// this build (DCMTK 3.6.7's codecs) can decode the pixel data.
public struct TransferSyntax: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let uid: String
    public let name: String
    public let kind: Kind

    public enum Kind: String, Sendable, Codable {
        /// Uncompressed pixel data (little or big endian, implicit or explicit VR, deflated).
        case native
        /// Compressed pixel data that DCMTK decodes (JPEG, JPEG-LS, RLE).
        case decodable
        /// Compressed pixel data without a decoder here (JPEG 2000, HTJ2K, video, JPEG XL).
        case undecodable
    }

    public var isDecodable: Bool { kind != .undecodable }
    public var isEncapsulated: Bool { kind != .native }
    public var description: String { "\(name) (\(uid))" }

    /// Looks a UID up in the table of known syntaxes; unknown UIDs are undecodable.
    public init(uid: String, fallbackName: String = "") {
        let trimmed = uid.trimmingCharacters(in: .init(charactersIn: " \0"))
        self.uid = trimmed
        if let known = Self.table[trimmed] {
            name = known.0
            kind = known.1
        } else {
            name = fallbackName.isEmpty ? "unknown transfer syntax" : fallbackName
            kind = .undecodable
        }
    }

    public static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2")
    public static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1")
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1.99")
    public static let explicitVRBigEndian = TransferSyntax(uid: "1.2.840.10008.1.2.2")
    public static let jpegBaseline = TransferSyntax(uid: "1.2.840.10008.1.2.4.50")
    public static let jpegExtended = TransferSyntax(uid: "1.2.840.10008.1.2.4.51")
    public static let jpegLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.57")
    public static let jpegLosslessSV1 = TransferSyntax(uid: "1.2.840.10008.1.2.4.70")
    public static let jpegLSLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.80")
    public static let jpegLSNearLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.81")
    public static let rleLossless = TransferSyntax(uid: "1.2.840.10008.1.2.5")

    private static let table: [String: (String, Kind)] = [
        "1.2.840.10008.1.2": ("Implicit VR Little Endian", .native),
        "1.2.840.10008.1.2.1": ("Explicit VR Little Endian", .native),
        "1.2.840.10008.1.2.1.99": ("Deflated Explicit VR Little Endian", .native),
        "1.2.840.10008.1.2.2": ("Explicit VR Big Endian", .native),
        "1.2.840.10008.1.2.4.50": ("JPEG Baseline (Process 1)", .decodable),
        "1.2.840.10008.1.2.4.51": ("JPEG Extended (Process 2 & 4)", .decodable),
        "1.2.840.10008.1.2.4.57": ("JPEG Lossless, Non-Hierarchical (Process 14)", .decodable),
        "1.2.840.10008.1.2.4.70": ("JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)", .decodable),
        "1.2.840.10008.1.2.4.80": ("JPEG-LS Lossless", .decodable),
        "1.2.840.10008.1.2.4.81": ("JPEG-LS Near-Lossless", .decodable),
        "1.2.840.10008.1.2.5": ("RLE Lossless", .decodable),
        "1.2.840.10008.1.2.4.90": ("JPEG 2000 Image Compression (Lossless Only)", .undecodable),
        "1.2.840.10008.1.2.4.91": ("JPEG 2000 Image Compression", .undecodable),
        "1.2.840.10008.1.2.4.92": ("JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", .undecodable),
        "1.2.840.10008.1.2.4.93": ("JPEG 2000 Part 2 Multi-component Image Compression", .undecodable),
        "1.2.840.10008.1.2.4.94": ("JPIP Referenced", .undecodable),
        "1.2.840.10008.1.2.4.95": ("JPIP Referenced Deflate", .undecodable),
        "1.2.840.10008.1.2.4.100": ("MPEG2 Main Profile / Main Level", .undecodable),
        "1.2.840.10008.1.2.4.101": ("MPEG2 Main Profile / High Level", .undecodable),
        "1.2.840.10008.1.2.4.102": ("MPEG-4 AVC/H.264 High Profile / Level 4.1", .undecodable),
        "1.2.840.10008.1.2.4.103": ("MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", .undecodable),
        "1.2.840.10008.1.2.4.104": ("MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", .undecodable),
        "1.2.840.10008.1.2.4.105": ("MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", .undecodable),
        "1.2.840.10008.1.2.4.106": ("MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", .undecodable),
        "1.2.840.10008.1.2.4.107": ("HEVC/H.265 Main Profile / Level 5.1", .undecodable),
        "1.2.840.10008.1.2.4.108": ("HEVC/H.265 Main 10 Profile / Level 5.1", .undecodable),
        "1.2.840.10008.1.2.4.110": ("JPEG XL Lossless", .undecodable),
        "1.2.840.10008.1.2.4.111": ("JPEG XL JPEG Recompression", .undecodable),
        "1.2.840.10008.1.2.4.112": ("JPEG XL", .undecodable),
        "1.2.840.10008.1.2.4.201": ("High-Throughput JPEG 2000 Image Compression (Lossless Only)", .undecodable),
        "1.2.840.10008.1.2.4.202": ("High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)", .undecodable),
        "1.2.840.10008.1.2.4.203": ("High-Throughput JPEG 2000 Image Compression", .undecodable),
    ]
}
