import Foundation
import Testing
import TestSupport

/// Kill -9 in the middle of `medcil train classifier` and of `medcil experiment run`, then the
/// same command again: it continues from the last finished epoch or stage and ends with the
/// same files as a run that was never killed.
@Suite(.serialized) struct ResumeAfterKillTests {
    static let root = TestPaths.temporaryDirectory("medcil-resume")

    /// Two phantom sites converted at 32x32.
    static let shards: [String] = {
        let raw = root.appendingPathComponent("raw").path
        _ = try? Binary.run(["phantom", "echo", "--out", raw, "--sites", "a,b", "--per-view", "4", "--seed", "5", "--no-faults",
                             "--progress", "off"])
        return ["a", "b"].map { site in
            let out = root.appendingPathComponent("shards-\(site)").path
            _ = try? Binary.run(["convert", "echo", "--config", "converters/phantom-echo-\(site).yaml", "--input", "\(raw)/site-\(site)",
                                 "--out", out, "--size", "32x32", "--progress", "off"])
            return "\(out)/phantom-echo-\(site)"
        }
    }()

    static func medcil(_ arguments: [String]) throws -> String {
        let result = try Binary.run(arguments + ["--progress", "off", "--threads", "2"])
        #expect(result.status == 0, "medcil \(arguments.joined(separator: " ")):\n\(result.output)")
        return result.output
    }

    /// Starts `medcil arguments`, waits until `file` exists, kills the process with SIGKILL.
    /// Returns false if the process ended before the file appeared.
    static func killWhenPresent(_ arguments: [String], file: URL) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Binary.medcil())
        process.arguments = arguments + ["--progress", "off", "--threads", "2"]
        process.currentDirectoryURL = TestPaths.root
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning && !FileManager.default.fileExists(atPath: file.path) { usleep(10_000) }
        let killed = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return killed && process.terminationReason == .uncaughtSignal
    }

    @Test func trainClassifierResumesAfterKill() throws {
        let training = ["train", "classifier", "--shards", Self.shards[0], "--architecture", "resnet18", "--width", "4", "--epochs", "6",
                        "--batch-size", "16", "--learning-rate", "0.003"]
        let reference = Self.root.appendingPathComponent("classifier-reference"), killed = Self.root.appendingPathComponent("classifier-killed")
        _ = try Self.medcil(training + ["--out", reference.path])

        let progress = killed.appendingPathComponent("resume/progress.json")
        #expect(try Self.killWhenPresent(training + ["--out", killed.path], file: progress), "training ended before its first epoch was saved")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("model.json").path))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: progress)) as! [String: Any]
        let done = (saved["progress"] as! [String: Any])["nextEpoch"] as! Int
        #expect((1..<6).contains(done))

        let output = try Self.medcil(training + ["--out", killed.path])
        #expect(output.contains("continuing after epoch \(done) of 6"), "\(output)")
        for file in ["model.safetensors", "nmf.npy"] {
            #expect(try Data(contentsOf: killed.appendingPathComponent(file)) == Data(contentsOf: reference.appendingPathComponent(file)), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("resume").path))
    }

    @Test func experimentRunResumesAfterKill() throws {
        let config = Self.root.appendingPathComponent("experiment.yaml")
        try """
        classifier: {architecture: resnet18, width: 4, input_size: 32}
        base: {epochs: 3, batch_size: 16, learning_rate: 0.003}
        expert: {epochs: 3, batch_size: 16, learning_rate: 0.003}
        combined: {epochs: 3, batch_size: 16, learning_rate: 0.003}
        fine_tune: {epochs: 3, batch_size: 16, learning_rate: 0.003}
        fusion: {epochs: 4}
        feature_passes: 1
        """.write(to: config, atomically: true, encoding: .utf8)
        let run = ["experiment", "run", "--sites"] + Self.shards + ["--config", config.path]
        let reference = Self.root.appendingPathComponent("run-reference"), killed = Self.root.appendingPathComponent("run-killed")
        _ = try Self.medcil(run + ["--out", reference.path])

        // run.json appears once step 0 (the base classifier) is finished and recorded.
        #expect(try Self.killWhenPresent(run + ["--out", killed.path], file: killed.appendingPathComponent("run.json")),
                "the run ended before its first stage was recorded")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("metrics.json").path))

        let output = try Self.medcil(run + ["--out", killed.path])
        #expect(output.contains("continuing the run"), "\(output)")
        let ledger = try JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent("run.json"))) as! [String: Any]
        let files = (ledger["predictions"] as! [[String: Any]]).map { $0["file"] as! String }
        #expect(files.count == 18, "9 registered methods x 2 steps")
        for file in files {
            #expect(try Data(contentsOf: killed.appendingPathComponent(file)) == Data(contentsOf: reference.appendingPathComponent(file)), "\(file)")
        }
    }
}
