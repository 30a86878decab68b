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

    public init(path: String) throws(NiftiError) {
        NiftiLibrary.ensureInitialized()
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
        var values = [Float](repeating: 0, count: count)
        if type == .float32 && scaling == nil {
            let got = values.withUnsafeMutableBytes { raw in readBytes(into: raw, count: count * type.size) }
            guard got else { throw .unreadable(truncationReason(count: count, size: type.size)) }
        } else {
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: count * type.size, alignment: 16)
            defer { raw.deallocate() }
            try read(into: raw, count: count, size: type.size)
            values.withUnsafeMutableBufferPointer { out in
                Self.convert(UnsafeRawPointer(raw.baseAddress!), type: type, count: count, into: out.baseAddress!, scaling: scaling)
            }
        }
        return Volume(shape: header.volumeShape, values: values, affine: header.affine)
    }

    /// The voxels as raw integer label values, never scaled. Float label volumes must hold
    /// whole numbers; values must fit in Int32.
    public func readLabels() throws(NiftiError) -> Volume<Int32> {
        let type = try NiftiDatatype.from(code: header.datatypeCode)
        let count = try voxelCount(type)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: count * type.size, alignment: 16)
        defer { raw.deallocate() }
        try read(into: raw, count: count, size: type.size)
        let values = try Self.labels(UnsafeRawPointer(raw.baseAddress!), type: type, count: count, shape: header.volumeShape)
        return Volume(shape: header.volumeShape, values: values, affine: header.affine)
    }

    private func voxelCount(_ type: NiftiDatatype) throws(NiftiError) -> Int {
        let count = header.volumeShape.reduce(1, *)
        guard Int(image.pointee.nvox) == count, Int(image.pointee.nbyper) == type.size else {
            throw .badHeader("nvox \(image.pointee.nvox) and bitpix \(image.pointee.nbyper * 8) disagree with the shape \(header.shape) of \(type.name)")
        }
        return count
    }

    private func read(into buffer: UnsafeMutableRawBufferPointer, count: Int, size: Int) throws(NiftiError) {
        guard readBytes(into: buffer, count: count * size) else { throw .unreadable(truncationReason(count: count, size: size)) }
    }

    /// True when all `count` bytes were read.
    private func readBytes(into buffer: UnsafeMutableRawBufferPointer, count: Int) -> Bool {
        guard count > 0, let base = buffer.baseAddress else { return true }
        return cnifti_read_voxels(image, base, Int64(count)) == Int64(count)
    }

    private func truncationReason(count: Int, size: Int) -> String {
        let needed = header.voxOffset + count * size
        if path.lowercased().hasSuffix(".gz") {
            return "the voxel data cannot be read: the gzip stream ends early or is corrupt (the header needs \(needed) bytes uncompressed)"
        }
        let actual = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        if let actual, actual < needed {
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
                let v = p[k]
                guard v.isFinite, v == v.rounded(), v >= -2147483648, v <= 2147483647 else {
                    throw .badValues("a label volume must hold whole numbers; voxel \(voxel(k)) holds \(Double(v))")
                }
                out[k] = Int32(v)
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
