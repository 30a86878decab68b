import ArrayFiles

/// Ceilings on what a DICOM header may make the reader allocate or decode.
///
/// A header is a few numbers the file chose: Rows = Columns = 65535 with NumberOfFrames =
/// 100000 asks for 1.3 PB. Every size is checked against these limits (and against the bytes
/// the file actually holds) before anything is allocated, and a file beyond a limit fails
/// with an error that names the limit, so that one file cannot take the memory of a batch.
///
/// The defaults lie far above any real echo cine (about 1024 x 768 pixels, a few hundred
/// frames) or MR slice (at most 1024 x 1024): decoding one frame at the pixel limit costs at
/// most `maxPixelsPerFrame` x 3 samples x (2 bytes decoded + 4 bytes unpacked) = 288 MiB.
/// Other limits are passed to `FrameDecoder(file:limits:)` (Codable, snake_case keys, so that
/// a config can carry them).
public struct DicomLimits: Codable, Equatable, Sendable {
    /// Most frames one file may declare (NumberOfFrames).
    public var maxFrames: Int
    /// Most pixels (Rows x Columns) one frame may have.
    public var maxPixelsPerFrame: Int

    public init(maxFrames: Int = 50_000, maxPixelsPerFrame: Int = 4096 * 4096) {
        self.maxFrames = maxFrames
        self.maxPixelsPerFrame = maxPixelsPerFrame
    }

    /// The defaults.
    public static let standard = DicomLimits()

    enum CodingKeys: String, CodingKey { case maxFrames = "max_frames", maxPixelsPerFrame = "max_pixels_per_frame" }

    /// Missing keys keep their defaults, so a config may set one limit only; an unknown key
    /// is an error (a misspelt limit would otherwise be silently ignored).
    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = any.allKeys.first(where: { CodingKeys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorruptedError(forKey: unknown, in: any,
                debugDescription: "unknown DICOM limit '\(unknown.stringValue)' (known: max_frames, max_pixels_per_frame)")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = DicomLimits()
        maxFrames = try container.decodeIfPresent(Int.self, forKey: .maxFrames) ?? defaults.maxFrames
        maxPixelsPerFrame = try container.decodeIfPresent(Int.self, forKey: .maxPixelsPerFrame) ?? defaults.maxPixelsPerFrame
    }
}

