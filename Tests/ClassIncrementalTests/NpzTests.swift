import ClassIncremental
import Foundation
import Testing
import TestSupport

/// MedMNIST-schema .npz files written by numpy (Tests/Oracles/medmnist_npz.py) read back with
/// the oracle's labels, pixel sums and one pixel (grey and RGB, channels first after reading).
@Suite struct NpzTests {
    struct Facts: Decodable { var labels: [Int]; var sum: Double; var pixel: Double }

    @Test(arguments: ["grey", "rgb"])
    func readsWhatNumpyWrote(_ kind: String) throws {
        let folder = TestPaths.temporaryDirectory("cil-npz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("medmnist.npz")
        let output = try runOracle("medmnist_npz.py", [url.path, kind])
        let facts = try JSONDecoder().decode([String: Facts].self, from: Data(output.utf8))
        let splits = try DatasetSplits.npz(url)
        let channels = kind == "grey" ? 1 : 3
        for (name, set) in [("train", splits.train), ("val", splits.validation!), ("test", splits.test)] {
            let expected = facts[name]!
            #expect(set.shape == [channels, 28, 28])
            #expect(set.labels == expected.labels)
            #expect(abs(set.pixels.reduce(0.0) { $0 + Double($1) } - expected.sum) < 1e-3 * expected.sum)
            #expect(abs(Double(set.pixels[set.imageSize + 5 * 28 + 7]) - expected.pixel) < 1e-6)
        }
    }

    /// np.savez_compressed deflates its members: refused with the file and the reason.
    @Test func compressedArchiveIsRefusedClearly() throws {
        let folder = TestPaths.temporaryDirectory("cil-npz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("compressed.npz")
        try runProcess("python3", ["-c", "import numpy as np; np.savez_compressed('\(url.path)', train_images=np.zeros((2,28,28),np.uint8))"])
        #expect { try DatasetSplits.npz(url) } throws: { error in
            "\(error)".contains(url.path) && "\(error)".contains("compressed")
        }
    }
}
