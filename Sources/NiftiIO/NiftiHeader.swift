import CNIfTI

/// Everything a NIfTI-1 or NIfTI-2 header says, as libnifti2 reads it, plus what MedCIL
/// derives from it (the affine it uses, the axis codes). Codable for `medcil nifti info --json`.
public struct NiftiHeader: Codable, Sendable, Equatable {
    public enum ByteOrder: String, Codable, Sendable { case little, big }

    /// Where `affine` comes from.
    public enum AffineSource: String, Codable, Sendable {
        /// sform_code > 0: the srow_x/y/z matrix.
        case sform
        /// qform_code > 0 (and no sform): quaternion, offsets, pixdim and qfac.
        case qform
        /// Neither: NIfTI's "method 1", a diagonal of pixdim[1...3] with the origin at voxel
        /// (0, 0, 0). (nibabel differs here: it uses an ANALYZE-style x-flipped, centred
        /// affine. A file without orientation is ambiguous either way.)
        case pixdim
    }

    public struct Extension: Codable, Sendable, Equatable {
        public var code: Int
        public var name: String
        /// Bytes of the extension, its 8-byte header included (esize).
        public var size: Int
    }

    public var version: NiftiHeaderVersion
    public var byteOrder: ByteOrder
    /// dim[0...7] as stored.
    public var dim: [Int]
    /// dim[1...dim[0]].
    public var shape: [Int]
    public var datatypeCode: Int
    public var datatypeName: String
    public var bitsPerVoxel: Int
    /// pixdim[0...7] as stored (pixdim[0] is qfac).
    public var pixdim: [Double]
    /// Byte offset of the voxels in the file (moves when extensions are present).
    public var voxOffset: Int
    /// scl_slope and scl_inter as stored (nil: NaN in the file).
    public var sclSlope: Double?
    public var sclInter: Double?
    public var calMin: Double
    public var calMax: Double
    public var qformCode: Int
    public var qformName: String
    public var sformCode: Int
    public var sformName: String
    /// quatern_b, quatern_c, quatern_d.
    public var quaternion: [Double]
    /// qoffset_x, qoffset_y, qoffset_z.
    public var qoffset: [Double]
    public var qfac: Double
    /// The qform matrix (libnifti's qto_xyz; meaningful when qform_code > 0).
    public var qform: Affine
    /// The sform matrix (srow_x, srow_y, srow_z; meaningful when sform_code > 0).
    public var sform: Affine
    public var spatialUnits: String
    public var timeUnits: String
    public var intentCode: Int
    public var intentName: String
    public var intentLabel: String
    public var intentParameters: [Double]
    public var description: String
    public var auxFile: String
    public var frequencyDim: Int
    public var phaseDim: Int
    public var sliceDim: Int
    public var sliceCode: Int
    public var sliceStart: Int
    public var sliceEnd: Int
    public var sliceDuration: Double
    public var timeOffset: Double
    public var extensions: [Extension]

    // Derived.
    /// sform when sform_code > 0, else qform when qform_code > 0, else pixdim.
    public var affine: Affine
    public var affineSource: AffineSource
    /// nibabel's `aff2axcodes(affine)`, e.g. ["L", "A", "S"]; empty when the affine is degenerate.
    public var axisCodes: [String]
    /// The slope and intercept applied to image voxels, or nil when none is (slope 0, NaN or infinite).
    public var scaling: Scaling?
    /// Set when the slope is valid but the intercept is not: image voxels cannot be scaled.
    public var scalingProblem: String?

    public struct Scaling: Codable, Sendable, Equatable {
        public var slope: Double
        public var intercept: Double
    }

    /// Spatial dimensions [nx, ny, nz] (1 for missing ones).
    public var spatialShape: [Int] { (0..<3).map { $0 < shape.count ? shape[$0] : 1 } }

    /// Shape padded to at least three dimensions.
    public var volumeShape: [Int] { shape.count >= 3 ? shape : spatialShape }

    /// - Parameters:
    ///   - storedScaling: scl_slope and scl_inter as the file stores them (libnifti turns NaN into 0).
    ///   - storedQfac: pixdim[0] as the file stores it (libnifti reports 0 as 1).
    init(image nim: UnsafePointer<nifti_image>, version: NiftiHeaderVersion, storedScaling: (Double, Double),
         storedQfac: Double, bigEndian: Bool) throws(NiftiError) {
        let h = nim.pointee
        self.version = version
        byteOrder = bigEndian ? .big : .little
        dim = tupleValues(h.dim, as: Int64.self).map { Int($0) }
        let ndim = max(0, min(7, dim[0]))
        shape = Array(dim[1..<(1 + ndim)])
        datatypeCode = Int(h.datatype)
        datatypeName = NiftiDatatype(rawValue: datatypeCode)?.name ?? NiftiDatatype.codeName(datatypeCode)
        bitsPerVoxel = Int(h.nbyper) * 8
        var pixdim = tupleValues(h.pixdim, as: Double.self)
        pixdim[0] = storedQfac
        self.pixdim = pixdim
        voxOffset = Int(h.iname_offset)
        sclSlope = storedScaling.0.isNaN ? nil : storedScaling.0
        sclInter = storedScaling.1.isNaN ? nil : storedScaling.1
        calMin = h.cal_min
        calMax = h.cal_max
        qformCode = Int(h.qform_code)
        qformName = String(cString: nifti_xform_string(h.qform_code))
        sformCode = Int(h.sform_code)
        sformName = String(cString: nifti_xform_string(h.sform_code))
        quaternion = [h.quatern_b, h.quatern_c, h.quatern_d]
        qoffset = [h.qoffset_x, h.qoffset_y, h.qoffset_z]
        qfac = h.qfac
        qform = Affine(elements: tupleValues(h.qto_xyz.m, as: Double.self))
        sform = Affine(elements: tupleValues(h.sto_xyz.m, as: Double.self))
        spatialUnits = String(cString: nifti_units_string(h.xyz_units))
        timeUnits = String(cString: nifti_units_string(h.time_units))
        intentCode = Int(h.intent_code)
        intentName = String(cString: nifti_intent_string(h.intent_code))
        intentLabel = fixedString(h.intent_name)
        intentParameters = [h.intent_p1, h.intent_p2, h.intent_p3]
        description = fixedString(h.descrip)
        auxFile = fixedString(h.aux_file)
        frequencyDim = Int(h.freq_dim)
        phaseDim = Int(h.phase_dim)
        sliceDim = Int(h.slice_dim)
        sliceCode = Int(h.slice_code)
        sliceStart = Int(h.slice_start)
        sliceEnd = Int(h.slice_end)
        sliceDuration = h.slice_duration
        timeOffset = h.toffset
        var extensions: [Extension] = []
        if let list = h.ext_list {
            for k in 0..<max(0, Int(h.num_ext)) {
                let ext = list[k]
                extensions.append(Extension(code: Int(ext.ecode), name: Self.extensionName(Int(ext.ecode)), size: Int(ext.esize)))
            }
        }
        self.extensions = extensions

        guard ndim >= 1, shape.allSatisfy({ $0 >= 1 }) else {
            throw .badHeader("dimensions \(dim) are not valid (dim[0] must be 1...7 and every used dim at least 1)")
        }
        if h.sform_code > 0 {
            affine = sform
            affineSource = .sform
        } else if h.qform_code > 0 {
            affine = qform
            affineSource = .qform
        } else {
            let stored = pixdim
            let zooms = (1...3).map { k -> Double in
                let d = abs(stored[k])
                return d > 0 && d.isFinite ? d : 1
            }
            affine = .scaling(zooms[0], zooms[1], zooms[2])
            affineSource = .pixdim
        }
        axisCodes = (try? AxisOrientation(affine: affine).codes) ?? []
        let (slope, intercept) = storedScaling
        if slope == 0 || !slope.isFinite {
            scaling = nil
            scalingProblem = nil
        } else if !intercept.isFinite {
            // nibabel refuses this too ("Valid slope but invalid intercept").
            scaling = nil
            scalingProblem = "scl_slope is \(slope) but scl_inter is \(intercept)"
        } else {
            scaling = Scaling(slope: slope, intercept: intercept)
            scalingProblem = nil
        }
    }

    static func extensionName(_ code: Int) -> String {
        let names: [Int: String] = [0: "ignore", 2: "DICOM", 4: "AFNI", 6: "comment", 8: "XCEDE", 10: "jimdiminfo",
                                    12: "workflow_fwds", 14: "freesurfer", 16: "pypickle", 18: "MIND_ident",
                                    20: "b_value", 22: "spherical_direction", 24: "DT_component",
                                    26: "SHC_degreeorder", 28: "voxbo", 30: "caret", 32: "cifti",
                                    34: "variable_frame_timing", 38: "eval", 40: "matlab", 42: "quantiphyse",
                                    44: "mrs"]
        return names[code] ?? "unknown"
    }
}

/// The elements of a homogeneous C array imported as a Swift tuple.
func tupleValues<Tuple, T>(_ tuple: Tuple, as type: T.Type) -> [T] {
    withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: T.self)) }
}

/// A NUL-terminated (or full-length) fixed C char array as a String, lossy for bad UTF-8.
func fixedString<Tuple>(_ tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }
}
