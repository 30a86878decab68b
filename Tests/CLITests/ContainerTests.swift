import Foundation
import Testing
import TestSupport

/// The container's runtime stage lists the Debian packages of every shared library the built
/// binary links (scripts/check-container-libs.sh; no Docker needed).
@Suite struct ContainerTests {
    static let script = TestPaths.root.appendingPathComponent("scripts/check-container-libs.sh").path

    @Test func runtimePackagesCoverTheLinkedLibraries() throws {
        let result = try runProcess("/bin/bash", [Self.script, try Binary.medcil()], cwd: TestPaths.root)
        #expect(result.status == 0, "\(result.output)")
        // The three libraries the issue names are among those checked, each from its package.
        for line in ["libdcmdata.so.17 <- libdcmtk17", "libnifti2.so.2 <- libnifti2-2", "libopenblas.so.0 <- libopenblas0"] {
            #expect(result.output.contains(line), "\(line) not checked:\n\(result.output)")
        }
    }

    /// The check fails when the list lacks a package, and when it lists one the binary does not use.
    @Test func theCheckCatchesAMissingAndAnUnusedPackage() throws {
        let dockerfile = try String(contentsOf: TestPaths.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let root = TestPaths.temporaryDirectory("medcil-container")
        defer { try? FileManager.default.removeItem(at: root) }
        let missing = root.appendingPathComponent("Dockerfile.missing"), unused = root.appendingPathComponent("Dockerfile.unused")
        try dockerfile.replacingOccurrences(of: "libnifti2-2 ", with: "").write(to: missing, atomically: true, encoding: .utf8)
        try dockerfile.replacingOccurrences(of: "zlib1g ", with: "zlib1g libc-bin ").write(to: unused, atomically: true, encoding: .utf8)
        #expect(dockerfile.contains("libnifti2-2 ") && dockerfile.contains("zlib1g "))
        let lacking = try runProcess("/bin/bash", [Self.script, try Binary.medcil(), missing.path], cwd: TestPaths.root)
        #expect(lacking.status != 0 && lacking.output.contains("MISSING  libnifti2.so.2"), "\(lacking.output)")
        let extra = try runProcess("/bin/bash", [Self.script, try Binary.medcil(), unused.path], cwd: TestPaths.root)
        #expect(extra.status != 0 && extra.output.contains("UNUSED   libc-bin"), "\(extra.output)")
    }
}
