import ArrayFiles
import CNIfTI
import Foundation

/// Writes single-file NIfTI-1 through libnifti2 (used for phantom data and test fixtures):
/// any affine (stored as the sform, and as the closest qform), any datatype, optional
/// scaling and extensions; `.nii.gz` is gzip-compressed. (NIfTI-2 is read, not written:
/// libnifti2 3.0.1 cannot write single-file NIfTI-2.) The file appears atomically (temporary
/// file, then rename), and the same inputs give the same bytes.
public enum NiftiWriter {
    /// Voxel values, x fastest (the order of `Volume.values`).
    public enum Voxels: Sendable {
        case uint8([UInt8])
        case int8([Int8])
        case int16([Int16])
        case uint16([UInt16])
        case int32([Int32])
        case uint32([UInt32])
        case float32([Float])
        case float64([Double])
        /// Any other NIfTI datatype, as raw host-order bytes (e.g. complex64 or int64, which
        /// MedCIL's reader refuses: useful to test that refusal).
        case raw(datatype: Int, bytesPerVoxel: Int, data: Data)

        var datatype: Int {
            switch self {
            case .uint8: return NiftiDatatype.uint8.rawValue
            case .int8: return NiftiDatatype.int8.rawValue
            case .int16: return NiftiDatatype.int16.rawValue
            case .uint16: return NiftiDatatype.uint16.rawValue
            case .int32: return NiftiDatatype.int32.rawValue
            case .uint32: return NiftiDatatype.uint32.rawValue
            case .float32: return NiftiDatatype.float32.rawValue
            case .float64: return NiftiDatatype.float64.rawValue
            case .raw(let code, _, _): return code
            }
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            switch self {
            case .uint8(let v): return v.withUnsafeBytes(body)
            case .int8(let v): return v.withUnsafeBytes(body)
            case .int16(let v): return v.withUnsafeBytes(body)
            case .uint16(let v): return v.withUnsafeBytes(body)
            case .int32(let v): return v.withUnsafeBytes(body)
            case .uint32(let v): return v.withUnsafeBytes(body)
            case .float32(let v): return v.withUnsafeBytes(body)
            case .float64(let v): return v.withUnsafeBytes(body)
            case .raw(_, _, let data): return data.withUnsafeBytes(body)
            }
        }
    }

    public struct Options: Sendable {
        /// sform_code and qform_code (1 scanner anatomical; 0 leaves the transform out).
        public var sformCode: Int = 1
        public var qformCode: Int = 1
        /// scl_slope (0: no scaling) and scl_inter.
        public var slope: Double = 0
        public var intercept: Double = 0
        public var description: String = ""
        /// (code, payload) pairs written as header extensions.
        public var extensions: [(code: Int, data: Data)] = []

        public init() {}
    }

    /// Writes `voxels` of `shape` ([nx, ny, nz, ...], 1 to 7 dimensions) with `affine`.
    public static func write(_ voxels: Voxels, shape: [Int], affine: Affine, to url: URL, options: Options = Options()) throws(NiftiError) {
        NiftiLibrary.ensureInitialized()
        let name = url.lastPathComponent
        guard name.lowercased().hasSuffix(".nii") || name.lowercased().hasSuffix(".nii.gz") else {
            throw .writeFailed("\(name): the name must end in .nii or .nii.gz")
        }
        guard (1...7).contains(shape.count), shape.allSatisfy({ $0 >= 1 }) else {
            throw .writeFailed("\(name): shape \(shape) is not 1 to 7 positive dimensions")
        }
        guard affine.isFinite else { throw .writeFailed("\(name): the affine has non-finite values") }
        var dims = [Int64](repeating: 1, count: 8)
        dims[0] = Int64(shape.count)
        for (k, n) in shape.enumerated() { dims[k + 1] = Int64(n) }
        guard let nim = nifti_make_new_nim(dims, Int32(voxels.datatype), 1) else {
            throw .writeFailed("\(name): libnifti cannot make an image of datatype \(voxels.datatype) and shape \(shape)")
        }
        defer { nifti_image_free(nim) }
        let count = shape.reduce(1, *)
        if case .raw(_, let bytesPerVoxel, _) = voxels, Int(nim.pointee.nbyper) != bytesPerVoxel {
            throw .writeFailed("\(name): datatype \(voxels.datatype) has \(nim.pointee.nbyper) bytes per voxel, not \(bytesPerVoxel)")
        }
        let expected = count * Int(nim.pointee.nbyper)
        let copied: Bool = voxels.withBytes { bytes in
            guard bytes.count == expected, let data = nim.pointee.data, let base = bytes.baseAddress else { return false }
            data.copyMemory(from: base, byteCount: expected)
            return true
        }
        guard copied else { throw .writeFailed("\(name): \(expected) bytes of voxels expected for shape \(shape)") }

        try setTransforms(nim, affine: affine, options: options)
        nim.pointee.scl_slope = options.slope
        nim.pointee.scl_inter = options.intercept
        nim.pointee.xyz_units = Int32(NIFTI_UNITS_MM)
        nim.pointee.time_units = Int32(NIFTI_UNITS_SEC)
        withUnsafeMutableBytes(of: &nim.pointee.descrip) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            let bytes = Array(options.description.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        for ext in options.extensions {
            let added = ext.data.withUnsafeBytes { raw in
                nifti_add_extension(nim, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count), Int32(ext.code))
            }
            guard added == 0 else { throw .writeFailed("\(name): extension code \(ext.code) cannot be added") }
        }

        do { try AtomicFile.ensureDirectory(url.deletingLastPathComponent()) } catch {
            throw .writeFailed("\(name): \(error)")
        }
        let temporary = AtomicFile.temporaryURL(for: url)
        let status = cnifti_write(nim, temporary.path)
        guard status == 0 else {
            unlink(temporary.path)
            throw .writeFailed("\(name): \(status == -1 ? "cannot create the file" : "writing or compressing failed (disk full?)")")
        }
        do { try AtomicFile.commit(temporary, to: url) } catch { throw .writeFailed("\(name): \(error)") }
    }

    /// sform = the affine; qform = its closest rigid part with pixdim and qfac (exact for
    /// affines without shear).
    private static func setTransforms(_ nim: UnsafeMutablePointer<nifti_image>, affine: Affine, options: Options) throws(NiftiError) {
        let inverse = try affine.inverse()
        nim.pointee.sform_code = Int32(options.sformCode)
        nim.pointee.sto_xyz = dmat44(affine)
        nim.pointee.sto_ijk = dmat44(inverse)
        var qb = 0.0, qc = 0.0, qd = 0.0, qx = 0.0, qy = 0.0, qz = 0.0, dx = 0.0, dy = 0.0, dz = 0.0, qfac = 0.0
        nifti_dmat44_to_quatern(dmat44(affine), &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac)
        nim.pointee.qform_code = Int32(options.qformCode)
        nim.pointee.quatern_b = qb
        nim.pointee.quatern_c = qc
        nim.pointee.quatern_d = qd
        nim.pointee.qoffset_x = qx
        nim.pointee.qoffset_y = qy
        nim.pointee.qoffset_z = qz
        nim.pointee.qfac = qfac
        nim.pointee.dx = dx
        nim.pointee.dy = dy
        nim.pointee.dz = dz
        let qto = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac)
        nim.pointee.qto_xyz = qto
        nim.pointee.qto_ijk = nifti_dmat44_inverse(qto)
        withUnsafeMutableBytes(of: &nim.pointee.pixdim) { raw in
            let p = raw.bindMemory(to: Double.self)
            p[0] = qfac
            p[1] = dx
            p[2] = dy
            p[3] = dz
        }
    }

    static func dmat44(_ affine: Affine) -> nifti_dmat44 {
        var m = nifti_dmat44()
        withUnsafeMutableBytes(of: &m.m) { raw in
            let p = raw.bindMemory(to: Double.self)
            for k in 0..<16 { p[k] = affine.elements[k] }
        }
        return m
    }
}
