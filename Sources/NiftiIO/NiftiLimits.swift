import ArrayFiles

/// Ceilings on what a NIfTI header may make the reader allocate.
///
/// dim[1...7] are numbers the file chose: 30000^3 float32 asks for 108 TB, and seven dims of
/// 32767 overflow 64 bits. The voxel count and byte size are computed with overflow checks,
/// compared with this limit and with the bytes the file holds (for `.nii`) before anything
/// is allocated; a `.nii.gz` stream, whose length is only known by decompressing it, is read
/// into a buffer that grows with the data that actually arrives and stops at the size the
/// header implies.
///
/// The default lies far above any MR volume (512 x 512 x 512 float32 is 512 MiB).
/// Another limit is passed to `NiftiFile(path:limits:)` (Codable, snake_case keys, so that a
/// config can carry it).
public struct NiftiLimits: Codable, Equatable, Sendable {
    /// Most bytes one volume's voxels (all dimensions together) may take as stored.
    public var maxBytesPerVolume: Int

    public init(maxBytesPerVolume: Int = 4 << 30) {
        self.maxBytesPerVolume = maxBytesPerVolume
    }

    /// The defaults.
    public static let standard = NiftiLimits()

    enum CodingKeys: String, CodingKey { case maxBytesPerVolume = "max_bytes_per_volume" }

    /// A missing key keeps its default; an unknown key is an error (a misspelt limit would
    /// otherwise be silently ignored).
    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = any.allKeys.first(where: { CodingKeys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorruptedError(forKey: unknown, in: any,
                debugDescription: "unknown NIfTI limit '\(unknown.stringValue)' (known: max_bytes_per_volume)")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        maxBytesPerVolume = try container.decodeIfPresent(Int.self, forKey: .maxBytesPerVolume) ?? NiftiLimits().maxBytesPerVolume
    }
}

