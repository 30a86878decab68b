import Foundation
import Testing
import TestSupport

/// `medcil seg` end to end on two phantom MR sites at 32 x 32: a killed increment resumed
/// equals an uninterrupted one byte for byte, the exemplar memory stays within its bound,
/// `evaluate` writes per-volume scores, and `predict` writes a label map that nibabel reads
/// with the input's shape and affine.
@Suite(.serialized) struct SegCommandTests {
    static let root = TestPaths.temporaryDirectory("medcil-seg")
    static let raw = root.appendingPathComponent("raw")

    /// Sites a (humerus) and b (scapula) converted at 32 x 32, 8 mm.
    static let shards: [String] = {
        _ = try? Binary.run(["phantom", "mr", "--out", raw.path, "--sites", "a,b", "--subjects", "3", "--seed", "4", "--no-faults",
                             "--progress", "off"])
        return ["a", "b"].map { site in
            let out = root.appendingPathComponent("shards").path
            _ = try? Binary.run(["convert", "mr", "--config", "converters/phantom-mr-\(site).yaml", "--input", "\(raw.path)/site-\(site)",
                                 "--out", out, "--size", "32x32", "--spacing", "8x8", "--progress", "off"])
            return "\(out)/phantom-mr-\(site)"
        }
    }()

    /// A tiny configuration: width 2, few epochs, an exemplar memory of 5 slices.
    static let config: String = {
        let url = root.appendingPathComponent("seg.yaml")
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try? """
        base: 2
        epochs: 2
        batch_size: 4
        learning_rate: 0.003
        exemplars: {capacity: 5, representatives: 4, candidates: 6, monte_carlo_passes: 3}
        """.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }()

    static let base: URL = {
        let out = root.appendingPathComponent("base")
        _ = try? Binary.run(["seg", "train", "--quick", "--config", config, "--data", shards[0], "--out", out.path, "--progress", "off"])
        return out
    }()

    static func medcil(_ arguments: [String]) throws -> String {
        let result = try Binary.run(arguments + ["--progress", "off"])
        #expect(result.status == 0, "medcil \(arguments.joined(separator: " ")):\n\(result.output)")
        return result.output
    }

    @Test func trainKeepsBoundedExemplarMemories() throws {
        #expect(FileManager.default.fileExists(atPath: Self.base.appendingPathComponent("model.json").path), "seg train did not finish")
        for rule in ["reseg", "aeiseg", "coriseg"] {
            let listing = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.base.appendingPathComponent("exemplars/\(rule)/exemplars.json"))) as! [String: Any]
            let kept = listing["exemplars"] as! [[String: Any]]
            #expect(listing["capacity"] as? Int == 5)
            #expect(!kept.isEmpty && kept.count <= 5, "\(rule): \(kept.count) exemplars")
            // Hashed volume identifiers (12 hex digits), never a subject's name.
            #expect(kept.allSatisfy { ($0["volume"] as! String).range(of: "^[0-9a-f]{12}$", options: .regularExpression) != nil }, "\(kept)")
        }
        let model = try String(contentsOf: Self.base.appendingPathComponent("model.json"), encoding: .utf8)
        #expect(model.contains("own encoder"), "CoRiSeg's encoder is not named: \(model)")
        #expect(FileManager.default.fileExists(atPath: Self.base.appendingPathComponent("config.resolved.yaml").path))
    }

    @Test func killedIncrementResumesToTheSameModel() throws {
        let increment = ["seg", "increment", "--quick", "--config", Self.config, "--epochs", "5", "--method", "aeiseg",
                         "--model", Self.base.path, "--data", Self.shards[1]]
        let reference = Self.root.appendingPathComponent("inc-reference"), killed = Self.root.appendingPathComponent("inc-killed")
        _ = try Self.medcil(increment + ["--out", reference.path])

        let progress = killed.appendingPathComponent("resume/progress.json")
        #expect(try ResumeAfterKillTests.killWhenPresent(increment + ["--out", killed.path], file: progress),
                "the increment ended before its first epoch was saved")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("model.json").path))

        _ = try Self.medcil(increment + ["--out", killed.path])
        for file in ["model.safetensors", "model.json", "training.json", "exemplars/aeiseg/exemplars.safetensors", "exemplars/aeiseg/exemplars.json"] {
            let a = try Data(contentsOf: reference.appendingPathComponent(file)), b = try Data(contentsOf: killed.appendingPathComponent(file))
            if file == "training.json" {
                // Seconds differ; the epochs' losses and scores must not.
                func epochs(_ data: Data) throws -> [[String: Double]] {
                    let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
                    return (json["history"] as! [[String: Any]]).map { ["loss": $0["trainLoss"] as! Double, "val": $0["validationAccuracy"] as? Double ?? -1] }
                }
                #expect(try epochs(a) == epochs(b))
            } else {
                #expect(a == b, "\(file) differs after the resumed run")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("resume").path))
        let listing = try JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent("exemplars/aeiseg/exemplars.json"))) as! [String: Any]
        #expect((listing["exemplars"] as! [Any]).count <= 5)
    }

    @Test func evaluateWritesPerVolumeScoresAndForgetting() throws {
        let model = Self.root.appendingPathComponent("inc-lwf"), out = Self.root.appendingPathComponent("eval")
        _ = try Self.medcil(["seg", "increment", "--quick", "--config", Self.config, "--method", "lwfseg", "--model", Self.base.path,
                             "--data", Self.shards[1], "--out", model.path])
        let printed = try Self.medcil(["seg", "evaluate", "--model", model.path, "--data", Self.shards[0], "--data", Self.shards[1],
                                       "--before", Self.base.path, "--out", out.path])
        let csv = try String(contentsOf: out.appendingPathComponent("evaluation.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "site,volume,structure,role,dice,assd_mm,hd95_mm,forgetting")
        let rows = csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.contains { $0[2] == "humerus" && $0[3] == "old" && !$0[7].isEmpty }, "\(csv)")
        #expect(rows.contains { $0[2] == "scapula" && $0[3] == "new" && $0[7].isEmpty }, "\(csv)")
        #expect(rows.allSatisfy { (0...1).contains(Double($0[4]) ?? -1) }, "\(csv)")
        #expect(printed.contains("forgetting"), "\(printed)")
    }

    @Test func predictKeepsTheInputGridAsNibabelReadsIt() throws {
        let volumes = try FileManager.default.subpathsOfDirectory(atPath: Self.raw.appendingPathComponent("site-b/imagesTr").path).sorted()
        let input = Self.raw.appendingPathComponent("site-b/imagesTr").appendingPathComponent(try #require(volumes.first))
        let output = Self.root.appendingPathComponent("labels.nii.gz")
        _ = try Self.medcil(["seg", "predict", "--model", Self.base.path, "--data", Self.shards[0], "--input", input.path, "--output", output.path])
        let check = try runProcess("/usr/bin/env", ["python3", "-c", """
            import sys, nibabel as nib, numpy as np
            a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
            assert a.shape == b.shape, (a.shape, b.shape)
            assert np.allclose(a.affine, b.affine, atol=1e-5), (a.affine, b.affine)
            values = set(np.unique(np.asarray(b.dataobj)).tolist())
            assert values <= {0, 1}, values
            assert b.get_data_dtype() == np.uint8
            print("ok", a.shape)
            """, input.path, output.path])
        #expect(check.status == 0 && check.output.contains("ok"), "\(check.output)")
    }

    @Test func badRequestsFailWithOneLineReasons() throws {
        let inc = ["seg", "increment", "--quick", "--config", Self.config, "--model", Self.base.path]
        let out = Self.root.appendingPathComponent("refused").path
        let cases: [([String], String)] = [
            (inc + ["--method", "lwf", "--data", Self.shards[1], "--out", out], "registered: curseg, separate, joint"),
            (inc + ["--method", "lwfseg", "--data", Self.shards[0], "--out", out], "already segments"),
            (inc + ["--method", "joint", "--data", Self.shards[1], "--out", out], "--old-data"),
            (["seg", "evaluate", "--model", Self.root.appendingPathComponent("nothing").path, "--data", Self.shards[0], "--out", out], "model.json"),
        ]
        for (arguments, reason) in cases {
            let result = try Binary.run(arguments + ["--progress", "off"])
            #expect(result.status == 1 && result.output.contains(reason), "\(arguments): \(result.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/model.json"))
    }
}
