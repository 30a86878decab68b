import ArrayFiles
import DataLoading
import Foundation
@testable import Incremental
import NeuralNet
import TensorCore
import Testing
import TestSupport
@testable import Training

/// The training loop's per-epoch checkpoint: a run stopped after some epochs and started again
/// ends with the same weights, bit for bit, as a run that was never stopped (dropout streams,
/// Adam moments, the best epoch's weights and the history all come back).
@Suite struct TrainingLoopResumeTests {
    struct Stop: Error {}

    /// 48 random 1x16x16 images of 3 classes, each class brighter in its own third of the frame.
    static let data: ArrayDataset = {
        let generator = RandomGenerator(seed: 3)
        var images: [Float] = [], labels: [Int] = []
        for i in 0..<48 {
            let label = i % 3
            for y in 0..<16 { for _ in 0..<16 { images.append(Float(generator.uniform()) * 0.5 + (y / 6 == label ? 0.5 : 0)) } }
            labels.append(label)
        }
        return ArrayDataset(images: images, labels: labels, sampleShape: [1, 16, 16])
    }()

    /// Trains a ResNet-18 of width 4 (with dropout) for 4 epochs; `stopAt` throws in that epoch.
    static func train(resume: ResumeCheckpoint?, stopAt: Int? = nil) throws -> (Module, TrainingOutcome) {
        NeuralNetRandom.seed(10)
        let model = ClassifierSpec(architecture: .resnet18, width: 4, inChannels: 1, inputSize: 16, dropout: 0.3, classes: ["a", "b", "c"]).build()
        let loader = DataLoader(source: data, batchSize: 16, shuffle: true, seed: 10, augmentation: .echoViews)
        let loop = TrainingLoop(model: model, optimizer: Adam(model.parameters(), learningRate: 3e-3), batches: loader, epochs: 4) { batch in
            StepResult.crossEntropy(model(batch.images), targets: batch.labels)
        }
        loop.validate = { try Evaluate.accuracy(model, on: data) }
        loop.learningRate = { epoch in 3e-3 * pow(0.5, Double(epoch)) }
        loop.resume = resume
        if let stopAt { loop.afterEpoch = [{ if $0 == stopAt { throw Stop() } }] }
        return (model, try loop.run())
    }

    static func bytes(_ model: Module) throws -> Data { try Checkpoint.stateDict(model).encoded() }

    @Test func stoppedRunResumesBitIdentical() throws {
        let folder = TestPaths.temporaryDirectory("medcil-loop-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (reference, referenceOutcome) = try Self.train(resume: nil)

        let checkpoint = ResumeCheckpoint(folder: folder, fingerprint: "resnet18 width 4, 4 epochs")
        #expect(throws: Stop.self) { try Self.train(resume: checkpoint, stopAt: 2) }
        let saved = try JSONDecoder().decode(ResumeCheckpoint.Record.self, from: Data(contentsOf: folder.appendingPathComponent("progress.json")))
        #expect(saved.progress.nextEpoch == 2)
        #expect(saved.dropoutStreams.count == 1)

        let (resumed, outcome) = try Self.train(resume: ResumeCheckpoint(folder: folder, fingerprint: "resnet18 width 4, 4 epochs"))
        #expect(outcome.history.count == 4)
        #expect(try Self.bytes(resumed) == Self.bytes(reference))
        #expect(outcome.bestEpoch == referenceOutcome.bestEpoch)
        #expect(outcome.history.map(\.trainLoss) == referenceOutcome.history.map(\.trainLoss))
        #expect(outcome.history.map(\.validationAccuracy) == referenceOutcome.history.map(\.validationAccuracy))
    }

    /// Without the saved dropout streams and optimizer state a resumed run would differ: the
    /// test above can fail.
    @Test func restartingFromWeightsAloneDiffers() throws {
        let folder = TestPaths.temporaryDirectory("medcil-loop-weights-only")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (reference, _) = try Self.train(resume: nil)
        let checkpoint = ResumeCheckpoint(folder: folder, fingerprint: "f")
        #expect(throws: Stop.self) { try Self.train(resume: checkpoint, stopAt: 2) }
        // Drop the optimizer state and dropout positions from the checkpoint.
        let url = folder.appendingPathComponent("progress.json")
        var record = try JSONDecoder().decode(ResumeCheckpoint.Record.self, from: Data(contentsOf: url))
        let state = folder.appendingPathComponent(record.state)
        var file = try SafeTensors.read(from: state)
        file.tensors = file.tensors.filter { !$0.key.hasPrefix("optimizer.") }
        try file.write(to: state)
        record.dropoutStreams = record.dropoutStreams.map { _ in [1, 2, 3, 4] }
        try JSONEncoder().encode(record).write(to: url)
        let (resumed, _) = try Self.train(resume: ResumeCheckpoint(folder: folder, fingerprint: "f"))
        #expect(try Self.bytes(resumed) != Self.bytes(reference))
    }

    @Test func checkpointOfAnotherTrainingIsRefused() throws {
        let folder = TestPaths.temporaryDirectory("medcil-loop-other")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: Stop.self) { try Self.train(resume: ResumeCheckpoint(folder: folder, fingerprint: "one"), stopAt: 1) }
        do {
            _ = try Self.train(resume: ResumeCheckpoint(folder: folder, fingerprint: "another"))
            Issue.record("a checkpoint of another training was used")
        } catch let error as TrainingError {
            #expect(error.description.contains(folder.path) && error.description.contains("another training"))
        }
    }
}
