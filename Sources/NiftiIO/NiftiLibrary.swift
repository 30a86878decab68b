import CNIfTI

/// One-time setup of libnifti2: its diagnostics on stderr are turned off, because MedCIL
/// reports every failure itself as one line naming the file.
enum NiftiLibrary {
    private static let initialized: Bool = {
        cnifti_quiet()
        return true
    }()

    static func ensureInitialized() {
        _ = initialized
    }
}
