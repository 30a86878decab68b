import Foundation
import Testing
import TestSupport

/// `medcil bench` runs Python peers that live in the checkout's python/peers/, not inside the
/// executable: it finds them from the executable's location whatever the working directory,
/// and names the folder it searched when MEDCIL_PEERS points elsewhere.
@Suite struct PeerScriptTests {
    /// From a working directory outside the checkout the peer is still found and runs: its
    /// frames/s column holds a number ("n/a" when the peer is missing or fails).
    @Test func peersAreFoundFromTheExecutable() throws {
        let elsewhere = TestPaths.temporaryDirectory("medcil-peers")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let file = try TestPaths.pydicomDataFile("gdcm-US-ALOKA-16.dcm").path
        let result = try runProcess(try Binary.medcil(), ["bench", "convert", "--quick", "--file", file, "--threads", "1"], cwd: elsewhere)
        #expect(result.status == 0, "\(result.output)")
        let row = result.output.split(separator: "\n").first { $0.hasPrefix("gdcm-US-ALOKA-16.dcm") }
        #expect(row != nil && !row!.contains("n/a"), "\(result.output)")
    }

    /// MEDCIL_PEERS names the only folder searched; when the peer is not there the command fails
    /// before measuring, naming that folder and the variable.
    @Test func missingPeersNameTheFolder() throws {
        let empty = TestPaths.temporaryDirectory("medcil-no-peers")
        defer { try? FileManager.default.removeItem(at: empty) }
        let file = try TestPaths.pydicomDataFile("gdcm-US-ALOKA-16.dcm").path
        let result = try runProcess("/usr/bin/env", ["MEDCIL_PEERS=\(empty.path)", try Binary.medcil(),
                                                     "bench", "convert", "--quick", "--file", file, "--threads", "1"])
        #expect(result.status != 0)
        #expect(result.output.contains("convert_pydicom.py not found in \(empty.path);"), "\(result.output)")
        #expect(result.output.contains("MEDCIL_PEERS"))
        #expect(!result.output.contains("pydicom f/s"), "the table must not start without its peer: \(result.output)")
    }
}
