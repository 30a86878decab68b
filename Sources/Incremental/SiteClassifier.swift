import DataLoading
import Foundation
import Metrics
import NeuralNet
import TensorCore
import Training

/// How different the sites' converted images are: a small CNN learns, from the training
/// split of every site's converted dataset, which site a sample comes from, and is scored on
/// the test splits (other patients). Weighted experts (Bransby et al. 2024) assume that an
/// expert's NMD recognises its own site's images; a site classifier far above chance shows
/// that the converted frames carry the acquisition differences that make this possible, and
/// one near chance shows they do not.
///
/// All sites share one normalisation (the pooled training mean and standard deviation of the
/// 0...1 pixels), not each site's own, so brightness differences count as shift, as they do
/// for the experts' inputs before per-site normalisation.
public enum SiteClassifier {
    public struct Settings: Codable, Sendable, Equatable {
        public var epochs = 6
        public var batchSize = 32
        public var learningRate = 2e-3
        public var seed: UInt64 = 10
        /// Channel widths of the small CNN's conv blocks (each halves the image).
        public var widths = [8, 16, 32, 32]

        public init(epochs: Int = 6, batchSize: Int = 32, learningRate: Double = 2e-3, seed: UInt64 = 10, widths: [Int] = [8, 16, 32, 32]) {
            self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed; self.widths = widths
        }

        enum CodingKeys: String, CodingKey {
            case epochs, seed, widths
            case batchSize = "batch_size"
            case learningRate = "learning_rate"
        }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// Site names, in label order.
        public var sites: [String]
        public var trainSamples: [Int]
        public var testSamples: [Int]
        /// Held-out accuracy over all test samples.
        public var accuracy: Double
        /// Mean of the per-site recalls (chance: 1 / sites, whatever the site sizes).
        public var balancedAccuracy: Double
        /// Share of each site's test samples recognised as that site.
        public var recall: [Double]
        /// confusion[true site][predicted site] on the test splits.
        public var confusion: [[Int]]
        public var seconds: Double

        public var chance: Double { 1 / Double(max(sites.count, 1)) }

        /// Accuracy line plus the confusion table, for the terminal.
        public var text: String {
            var lines = [String(format: "site classifier, held out: accuracy %.1f %%, balanced %.1f %% (chance %.1f %%), %d test samples, %.0f s",
                                100 * accuracy, 100 * balancedAccuracy, 100 * chance, testSamples.reduce(0, +), seconds)]
            let width = max(8, (sites.map(\.count).max() ?? 0) + 2)
            lines.append("true \\ predicted".padding(toLength: 18, withPad: " ", startingAt: 0)
                + sites.map { $0.leftPadded(width) }.joined() + "recall %".leftPadded(10))
            for (k, site) in sites.enumerated() {
                lines.append(site.padding(toLength: 18, withPad: " ", startingAt: 0) + confusion[k].map { String($0).leftPadded(width) }.joined()
                             + String(format: "%.1f", 100 * recall[k]).leftPadded(10))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Trains on the `train` splits of `datasets` (one converted dataset folder per site, the
    /// site's name from its dataset.json) and scores on their `test` splits.
    public static func measure(datasets: [URL], settings: Settings = Settings(),
                               onEpoch: @escaping (EpochRecord) -> Void = { _ in }) throws -> Result {
        guard datasets.count >= 2 else { throw IncrementalError.invalid("a site classifier needs at least two sites, got \(datasets.count)") }
        let started = DispatchTime.now().uptimeNanoseconds
        let train = try datasets.map { try ShardDataset(folder: $0, split: "train") }
        let test = try datasets.map { try ShardDataset(folder: $0, split: "test") }
        let shape = train[0].sampleShape
        for (k, split) in (train + test).enumerated() where split.sampleShape != shape {
            throw IncrementalError.invalid("\(datasets[k % datasets.count].path): samples are \(split.sampleShape), the first site's \(shape)")
        }
        for (k, split) in (train + test).enumerated() where split.count == 0 {
            throw IncrementalError.invalid("\(datasets[k % datasets.count].path): the \(split.split) split is empty")
        }
        let trainSet = try pooled(train)
        let mean = trainSet.images.reduce(0, +) / Float(trainSet.images.count)
        let variance = trainSet.images.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(trainSet.images.count)
        let normalization = (mean: mean, std: max(variance.squareRoot(), 1e-6))
        let trainData = ArrayDataset(images: trainSet.images, labels: trainSet.labels, sampleShape: shape, normalization: normalization)
        let testSet = try pooled(test)
        let testData = ArrayDataset(images: testSet.images, labels: testSet.labels, sampleShape: shape, normalization: normalization)

        NeuralNetRandom.seed(settings.seed)
        let model = SmallCNN(inChannels: shape[0], classes: datasets.count, widths: settings.widths, inputSize: shape[1])
        var trainer = ClassifierTrainer(settings: TrainingSettings(epochs: settings.epochs, batchSize: settings.batchSize,
                                                                   learningRate: settings.learningRate, seed: settings.seed, augment: false))
        trainer.onEpoch = onEpoch
        // No validation split: the epoch with the best training accuracy is kept (the test split never steers training).
        _ = try trainer.train(model, on: trainData, validation: nil)
        let (logits, labels) = try Evaluate.logits(model, on: testData)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: datasets.count), count: datasets.count)
        for (row, label) in zip(logits, labels) { confusion[label][Evaluate.argmax(row)] += 1 }
        let recall = confusion.enumerated().map { k, row in Double(row[k]) / Double(max(row.reduce(0, +), 1)) }
        let correct = (0..<datasets.count).reduce(0) { $0 + confusion[$1][$1] }
        return Result(sites: train.map(\.description.site), trainSamples: train.map(\.count), testSamples: test.map(\.count),
                      accuracy: Double(correct) / Double(max(labels.count, 1)), balancedAccuracy: recall.reduce(0, +) / Double(recall.count),
                      recall: recall, confusion: confusion, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Every sample of the splits, labelled with its split's position.
    static func pooled(_ splits: [ShardDataset]) throws -> (images: [Float], labels: [Int]) {
        var images: [Float] = [], labels: [Int] = []
        for (site, split) in splits.enumerated() {
            for index in 0..<split.count {
                images += try split.pixels(at: index)
                labels.append(site)
            }
        }
        return (images, labels)
    }
}
