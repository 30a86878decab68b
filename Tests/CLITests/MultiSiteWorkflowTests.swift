import Foundation
import Testing
import TestSupport

/// The multi-site workflow with one command per step, each site in its own folder: a site's
/// steps read only its own shards (and the weights other sites sent); the fusion step reads
/// only exported features.
@Suite(.serialized) struct MultiSiteWorkflowTests {
    static let commandsWithHelp: [[String]] = [
        ["train", "classifier"], ["train", "expert"], ["train", "fusion"], ["train", "combined"], ["train", "fine-tune"],
        ["features", "export"], ["evaluate"], ["experiment", "run"], ["bench", "train"],
    ]

    @Test(arguments: commandsWithHelp)
    func helpIsUseful(_ path: [String]) throws {
        let result = try Binary.run(path + ["--help"])
        #expect(result.status == 0 && result.output.contains("USAGE: medcil"))
        #expect(result.output.count > 300, "\(path): \(result.output)")
    }

    @Test func evaluateNeedsExactlyOneModel() throws {
        let none = try Binary.run(["evaluate"])
        #expect(none.status != 0 && none.output.contains("one of --run, --fusion or --classifier"))
        let fusionAlone = try Binary.run(["evaluate", "--fusion", "f", "--out", "o"])
        #expect(fusionAlone.status != 0 && fusionAlone.output.contains("--features"))
    }

    @Test func stepByStepAcrossSeparateSiteFolders() throws {
        let root = TestPaths.temporaryDirectory("medcil-workflow")
        defer { try? FileManager.default.removeItem(at: root) }
        func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
        let medcil = Binary.succeeding
        let quick = ["--epochs", "4", "--batch-size", "32", "--learning-rate", "0.003"]

        // Each hospital converts its own export into its own folder.
        _ = try medcil(["phantom", "echo", "--out", path("raw"), "--sites", "a,b", "--per-view", "4", "--seed", "5", "--no-faults"])
        for site in ["a", "b"] {
            _ = try medcil(["convert", "echo", "--config", "converters/phantom-echo-\(site).yaml", "--input", path("raw/site-\(site)"),
                            "--out", path("site-\(site)/shards"), "--size", "32x32"])
        }
        let shardsA = path("site-a/shards/phantom-echo-a"), shardsB = path("site-b/shards/phantom-echo-b")

        // Site A: the base classifier (with its NMF). Site B: its expert from A's weights.
        _ = try medcil(["train", "classifier", "--shards", shardsA, "--out", path("site-a/base"), "--architecture", "small-cnn", "--width", "8"] + quick)
        _ = try medcil(["train", "expert", "--base", path("site-a/base"), "--shards", shardsB, "--out", path("site-b/expert"),
                        "--architecture", "small-cnn", "--width", "8"] + quick)
        for file in ["model.safetensors", "model.json", "nmf.npy"] {
            #expect(FileManager.default.fileExists(atPath: path("site-b/expert/\(file)")), "\(file)")
        }

        // Each site exports features through both experts; nothing else leaves the site.
        let experts = [path("site-a/base"), path("site-b/expert")]
        for (site, shards) in [("a", shardsA), ("b", shardsB)] {
            _ = try medcil(["features", "export", "--experts"] + experts + ["--shards", shards, "--split", "train", "--passes", "2",
                                                                             "--out", path("site-\(site)/export/train")])
            _ = try medcil(["features", "export", "--experts"] + experts + ["--shards", shards, "--split", "test", "--passes", "1",
                                                                             "--out", path("site-\(site)/export/test")])
        }
        let exported = try FileManager.default.contentsOfDirectory(atPath: path("site-a/export/test")).sorted()
        #expect(exported == ["features.json", "features.npy", "labels.npy", "logits.npy", "nmd.npy", "samples.csv"])

        // The fusion centre sees the exports only.
        _ = try medcil(["train", "fusion", "--method", "nmd-wsf", "--features", path("site-a/export/train"), path("site-b/export/train"),
                        "--out", path("centre/nmd-wsf"), "--epochs", "5"])
        let table = try medcil(["evaluate", "--fusion", path("centre/nmd-wsf"), "--features", path("site-a/export/test"),
                                path("site-b/export/test"), "--out", path("centre/eval")])
        #expect(table.contains("phantom-a") && table.contains("phantom-b") && table.contains("mean expert weight"))

        let csv = try String(contentsOfFile: path("centre/eval/predictions.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "id,site,label,label_name,prediction,prediction_name,correct,weight_base,weight_expert")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("centre/eval/metrics.json")))) as! [String: Any]
        let pooled = metrics["pooled"] as! [String: Any]
        #expect(pooled["samples"] as? Int == csv.count - 1)
        let weights = metrics["meanExpertWeights"] as! [String: [String: Double]]
        #expect(Set(weights.keys) == ["phantom-a", "phantom-b"])
        for (_, row) in weights { #expect(abs(row.values.reduce(0, +) - 1) < 1e-4) }

        // A single classifier evaluates on shards.
        let base = try medcil(["evaluate", "--classifier", path("site-a/base"), "--shards", shardsA, "--out", path("site-a/eval")])
        #expect(base.contains("phantom-a") && !base.contains("mean expert weight"))

        // Fine-tuning as Bransby et al. 2024, site by site: per-class heads from scratch on A,
        // then B from A's model; the model predicts over the heads trained so far (A's classes,
        // which include B's). The full-head variant grows the base classifier instead.
        let tuneArgs = ["--architecture", "small-cnn", "--width", "8"] + quick
        _ = try medcil(["train", "fine-tune", "--shards", shardsA, "--out", path("ft/step-0")] + tuneArgs)
        let second = try medcil(["train", "fine-tune", "--from", path("ft/step-0"), "--shards", shardsB, "--out", path("ft/step-1")] + tuneArgs)
        #expect(second.contains("8 classes trained so far"), "\(second)")
        let description = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("ft/step-1/model.json")))) as! [String: Any]
        let spec = description["spec"] as! [String: Any]
        #expect((spec["trained_heads"] as? [String])?.count == 8 && (spec["classes"] as? [String])?.count ?? 0 > 8)
        let tuned = try medcil(["evaluate", "--classifier", path("ft/step-1"), "--shards", shardsA, shardsB, "--out", path("ft/eval")])
        #expect(tuned.contains("phantom-a") && tuned.contains("phantom-b"))
        let notPerClass = try Binary.run(["train", "fine-tune", "--from", path("site-a/base"), "--shards", shardsB, "--out", path("ft/bad")] + tuneArgs)
        #expect(notPerClass.status != 0 && notPerClass.output.contains("not a fine-tuned model with per-class heads"), "\(notPerClass.output)")
        let grown = try medcil(["train", "fine-tune", "--full-head", "--from", path("site-a/base"), "--shards", shardsB,
                                "--out", path("ft/full-head")] + tuneArgs)
        #expect(grown.contains("full head (8 classes now)"), "\(grown)")
    }
}
