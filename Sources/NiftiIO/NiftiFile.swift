import ArrayFiles
import CNIfTI
import Foundation

/// A NIfTI-1 or NIfTI-2 file (`.nii` or `.nii.gz`, either byte order, with or without
/// extensions), read through libnifti2. Opening reads the header; voxels are read on demand,
/// either as scaled intensities (`readImage`) or as raw label values (`readLabels`).
///
/// Errors never repeat the file's path (callers name the file in their own terms, e.g. a
/// path relative to a site's export) and are always one line.
public final class NiftiFile {
    public let path: String
    public let header: NiftiHeader
    private let image: UnsafeMutablePointer<nifti_image>

    /// Sizes the header may ask for (checked when voxels are read).
    public let limits: NiftiLimits

    public init(path: String, limits: NiftiLimits = .standard) throws(NiftiError) {
        NiftiLibrary.ensureInitialized()
        self.limits = limits
        let lower = path.lowercased()
        guard lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") else {
            throw .unreadable("only single-file NIfTI is read (.nii or .nii.gz), not \(URL(fileURLWithPath: path).lastPathComponent)")
        }
        guard FileManager.default.fileExists(atPath: path) else { throw .unreadable("no such file") }
        var probe = cnifti_probe_result()
        let probed = cnifti_probe(path, &probe)
        guard probed != -1 else { throw .unreadable("the file cannot be opened, or holds fewer than 4 bytes") }
        let version: NiftiHeaderVersion
        switch probe.version {
        case 1: version = .nifti1
        case 2: version = .nifti2
        default: throw .unreadable("not a NIfTI-1 or NIfTI-2 file (sizeof_hdr is neither 348 nor 540)")
        }
        guard probed == 0 else {
            throw .unreadable("the header cannot be read: the file ends inside the \(version == .nifti1 ? 348 : 540)-byte header")
        }
        guard probe.has_magic != 0 else {
            throw .unreadable("no NIfTI magic (n+1 / n+2): an ANALYZE 7.5 header, which has no reliable orientation")
        }
        try Self.checkBeforeLibnifti(probe)
        guard let nim = cnifti_read_header(path) else {
            throw .unreadable("the header cannot be read (corrupt gzip stream, or invalid dimensions)")
        }
        do {
            header = try NiftiHeader(image: UnsafePointer(nim), version: version,
                                     storedScaling: (probe.scl_slope, probe.scl_inter), storedQfac: probe.pixdim0, bigEndian: probe.big_endian != 0)
        } catch {
            nifti_image_free(nim)
            throw error
        }
        self.path = path
        image = nim
    }

    /// What libnifti would refuse with a message of its own on stderr, refused here first
    /// with one line: dims outside 1...7 or below 1, an unknown datatype code, a voxel offset
    /// that is not a finite non-negative number.
    static func checkBeforeLibnifti(_ probe: cnifti_probe_result) throws(NiftiError) {
        let dim = tupleValues(probe.dim, as: Int64.self).map { Int($0) }
        guard (1...7).contains(dim[0]), dim[1...dim[0]].allSatisfy({ $0 >= 1 }) else {
            throw .badHeader("dimensions \(dim) are not valid (dim[0] must be 1...7 and every used dim at least 1)")
        }
        guard probe.datatype_known != 0 else {
            let code = Int(probe.datatype)
            throw .unsupportedDatatype(code: code, name: NiftiDatatype.codeName(code))
        }
        guard probe.vox_offset.isFinite, probe.vox_offset >= 0 else {
            throw .badHeader("vox_offset is \(probe.vox_offset) (must be a byte offset, at least 0)")
        }
    }

    deinit {
        nifti_image_free(image)
    }

    /// The voxels as float32 intensities: scl_slope/scl_inter applied when the slope is
    /// neither 0 nor NaN (nor infinite), computed in double precision and rounded once, as
    /// nibabel's `get_fdata()` followed by a cast to float32. NaN and infinite values are
    /// kept as stored. Stored orientation, all dimensions.
    public func readImage() throws(NiftiError) -> Volume<Float> {
        let type = try NiftiDatatype.from(code: header.datatypeCode)
        if let problem = header.scalingProblem { throw .badHeader(problem) }
        let count = try voxelCount(type)
        let scaling = header.scaling
        let raw = try readVoxelBytes(count: count, size: type.size)
        defer { free(raw) }
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if let target = out.baseAddress {
                Self.convert(UnsafeRawPointer(raw), type: type, count: count, into: target, scaling: scaling)
            }
            initialized = count
        }
        return Volume(shape: header.volumeShape, values: values, affine: header.affine)
    }

    /// The voxels as raw integer label values, never scaled. Float label volumes must hold
    /// whole numbers; values must fit in Int32.
    public func readLabels() throws(NiftiError) -> Volume<Int32> {
        let type = try NiftiDatatype.from(code: header.datatypeCode)
        let count = try voxelCount(type)
        let raw = try readVoxelBytes(count: count, size: type.size)
        defer { free(raw) }
        let values = try Self.labels(UnsafeRawPointer(raw), type: type, count: count, shape: header.volumeShape)
        return Volume(shape: header.volumeShape, values: values, affine: header.affine)
    }

    /// The number of voxels, after checking what the header asks for before anything is
    /// allocated: the product of the dims and its size in bytes fit in 64 bits and in
    /// `limits.maxBytesPerVolume`, they agree with libnifti's nvox and bitpix, and an
    /// uncompressed file holds them (offset + bytes <= file length).
    private func voxelCount(_ type: NiftiDatatype) throws(NiftiError) -> Int {
        guard let count = CheckedSize.product(header.volumeShape), let bytes = CheckedSize.product(count, type.size) else {
            throw .limitExceeded("the shape \(header.shape) of \(type.name) overflows 64-bit sizes")
        }
        guard bytes <= limits.maxBytesPerVolume else {
            throw .limitExceeded("the shape \(header.shape) of \(type.name) is \(bytes) bytes, more than the limit max_bytes_per_volume = \(limits.maxBytesPerVolume)")
        }
        guard Int(image.pointee.nvox) == count, Int(image.pointee.nbyper) == type.size else {
            throw .badHeader("nvox \(image.pointee.nvox) and bitpix \(image.pointee.nbyper * 8) disagree with the shape \(header.shape) of \(type.name)")
        }
        if !isCompressed, let needed = CheckedSize.sum(header.voxOffset, bytes), let actual = fileLength, actual < needed {
            throw .unreadable(truncationReason(count: count, size: type.size))
        }
        return count
    }

    private var isCompressed: Bool { path.lowercased().hasSuffix(".gz") }

    private var fileLength: Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// All voxel bytes in host order, in a buffer to `free()`. The buffer grows with the data
    /// read, so a gzip stream shorter than its header promises costs only what it holds.
    private func readVoxelBytes(count: Int, size: Int) throws(NiftiError) -> UnsafeMutableRawPointer {
        let bytes = count * size   // checked by voxelCount
        var got: Int64 = 0
        guard let buffer = cnifti_read_voxels_growing(image, Int64(bytes), &got) else {
            throw .unreadable(got < 0 ? "the voxel data cannot be opened at offset \(header.voxOffset)" : truncationReason(count: count, size: size))
        }
        guard got == Int64(bytes) else {
            free(buffer)
            throw .unreadable(truncationReason(count: count, size: size))
        }
        return buffer
    }

    private func truncationReason(count: Int, size: Int) -> String {
        let needed = CheckedSize.product(count, size).flatMap { CheckedSize.sum(header.voxOffset, $0) }
        let neededText = needed.map(String.init) ?? "more than 2^63"
        if isCompressed {
            return "the voxel data cannot be read: the gzip stream ends early or is corrupt (the header needs \(neededText) bytes uncompressed)"
        }
        if let actual = fileLength, let needed, actual < needed {
            return "the voxel data is truncated: the file has \(actual) bytes, the header needs \(needed) (offset \(header.voxOffset) + \(count) voxels x \(size) bytes)"
        }
        return "the voxel data cannot be read"
    }

    static func convert(_ raw: UnsafeRawPointer, type: NiftiDatatype, count: Int, into out: UnsafeMutablePointer<Float>,
                        scaling: NiftiHeader.Scaling?) {
        func run<T>(_: T.Type, _ value: (T) -> Double) {
            let p = raw.bindMemory(to: T.self, capacity: count)
            if let s = scaling {
                let slope = s.slope, intercept = s.intercept
                for k in 0..<count { out[k] = Float(value(p[k]) * slope + intercept) }
            } else {
                for k in 0..<count { out[k] = Float(value(p[k])) }
            }
        }
        switch type {
        case .uint8: run(UInt8.self) { Double($0) }
        case .int8: run(Int8.self) { Double($0) }
        case .int16: run(Int16.self) { Double($0) }
        case .uint16: run(UInt16.self) { Double($0) }
        case .int32: run(Int32.self) { Double($0) }
        case .uint32: run(UInt32.self) { Double($0) }
        case .float32: run(Float.self) { Double($0) }
        case .float64: run(Double.self) { $0 }
        }
    }

    static func labels(_ raw: UnsafeRawPointer, type: NiftiDatatype, count: Int, shape: [Int]) throws(NiftiError) -> [Int32] {
        func voxel(_ k: Int) -> String {
            var rest = k
            var index: [Int] = []
            for n in shape { index.append(rest % n); rest /= n }
            return "(" + index.map(String.init).joined(separator: ", ") + ")"
        }
        var out = [Int32](repeating: 0, count: count)
        func integers<T: BinaryInteger>(_: T.Type) {
            let p = raw.bindMemory(to: T.self, capacity: count)
            for k in 0..<count { out[k] = Int32(truncatingIfNeeded: p[k]) }
        }
        func floats<T: BinaryFloatingPoint>(_: T.Type) throws(NiftiError) {
            let p = raw.bindMemory(to: T.self, capacity: count)
            for k in 0..<count {
                // Int32(exactly:), not a range test: 2147483647 as a Float literal is 2^31,
                // so a float32 voxel of 2^31 passed the test and trapped converting (found by
                // fuzzing).
                let v = p[k]
                guard v.isFinite, v == v.rounded(), let value = Int32(exactly: v) else {
                    throw .badValues("a label volume must hold whole numbers that fit in int32; voxel \(voxel(k)) holds \(Double(v))")
                }
                out[k] = value
            }
        }
        switch type {
        case .uint8: integers(UInt8.self)
        case .int8: integers(Int8.self)
        case .int16: integers(Int16.self)
        case .uint16: integers(UInt16.self)
        case .int32: integers(Int32.self)
        case .uint32:
            let p = raw.bindMemory(to: UInt32.self, capacity: count)
            for k in 0..<count {
                guard p[k] <= UInt32(Int32.max) else { throw .badValues("label value \(p[k]) at voxel \(voxel(k)) is beyond 2147483647") }
                out[k] = Int32(p[k])
            }
        case .float32: try floats(Float.self)
        case .float64: try floats(Double.self)
        }
        return out
    }
}
