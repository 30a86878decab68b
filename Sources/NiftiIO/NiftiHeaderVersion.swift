import CNIfTI

/// The NIfTI format version of a file, read from `sizeof_hdr` (348: NIfTI-1, 540: NIfTI-2,
/// either byte order). libnifti2 3.0.1 reports NIfTI-2 files as NIfTI-1 in `nifti_type`, so
/// this is the source of truth.
public enum NiftiHeaderVersion: Int, Sendable, Codable {
    case nifti1 = 1
    case nifti2 = 2

    public init(path: String) throws(NiftiError) {
        switch cnifti_header_version(path) {
        case 1: self = .nifti1
        case 2: self = .nifti2
        default: throw .unreadable("\(path) is not a NIfTI-1 or NIfTI-2 file (sizeof_hdr is neither 348 nor 540)")
        }
    }
}
