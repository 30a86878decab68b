import ClassIncremental
import Foundation
import Testing
import TestSupport

/// MedMNIST-schema .npz files written by numpy (Tests/Oracles/medmnist_npz.py), with np.savez
/// and with np.savez_compressed (as real MedMNIST files are), read back with the oracle's
/// labels, pixel sums and one pixel (grey and RGB, channels first after reading); damaged copies
/// (the oracle's damages) are refused with the file, the member and the reason.
@Suite struct NpzTests {
    struct Facts: Decodable { var labels: [Int]; var sum: Double; var pixel: Double }

    @Test(arguments: [("grey", "stored"), ("rgb", "stored"), ("grey", "compressed"), ("rgb", "compressed")])
    func readsWhatNumpyWrote(_ kind: String, _ storage: String) throws {
        let folder = TestPaths.temporaryDirectory("cil-npz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("medmnist.npz")
        let output = try runOracle("medmnist_npz.py", [url.path, kind, storage])
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

    /// Each damage of train_images.npy gives an error naming the file, the member and what is wrong.
    @Test(arguments: [("stored", "flipped-byte", "CRC-32"), ("compressed", "flipped-byte", "train_images.npy"),
                      ("compressed", "lying-size", "the directory states"), ("stored", "lying-size", "holds"),
                      ("compressed", "huge-size", "more than deflate can produce")])
    func damagedMemberIsRefusedClearly(_ storage: String, _ damage: String, _ reason: String) throws {
        let folder = TestPaths.temporaryDirectory("cil-npz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("damaged.npz")
        _ = try runOracle("medmnist_npz.py", [url.path, "grey", storage, damage])
        #expect { try DatasetSplits.npz(url) } throws: { error in
            let text = "\(error)"
            return text.contains(url.path) && text.contains("member train_images.npy") && text.contains(reason)
        }
    }

    /// A member stated larger than the bound is refused before anything is inflated.
    @Test func memberPastTheBoundIsRefused() throws {
        let folder = TestPaths.temporaryDirectory("cil-npz")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("medmnist.npz")
        _ = try runOracle("medmnist_npz.py", [url.path, "grey", "compressed"])
        #expect(try NpzArchive.read(from: url, maxMemberBytes: 1 << 20).count == 6)
        #expect { try NpzArchive.read(from: url, maxMemberBytes: 4096) } throws: { error in
            "\(error)".contains(url.path) && "\(error)".contains("member train_images.npy") && "\(error)".contains("past the bound of 4096")
        }
    }
}
