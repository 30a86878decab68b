import ArgumentParser
import ArrayFiles
import Foundation
import Incremental
import TensorCore

/// `medcil site-shift DATASET...`: how well a small CNN tells the sites apart.
struct SiteShift: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site-shift",
        abstract: "Trains a small CNN to tell which site a converted sample comes from; prints its held-out accuracy.",
        discussion: """
        Trains on the train splits of the given converted datasets (one per site) and scores on their test splits \
        (other patients). Far above chance: the sites' images differ in acquisition, as weighted experts assume; \
        near chance: they look alike after conversion. `medcil demo` runs it on the phantom sites.
        """
    )

    @Argument(help: "Converted dataset folders, one per site (each with dataset.json).")
    var datasets: [String]

    @Option(help: "Training epochs.")
    var epochs: Int = 6

    @Option(help: "Write the result as JSON to this file.")
    var out: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard datasets.count >= 2 else { throw ValidationError("give at least two converted datasets") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        Parallel.threads = shared.workerCount
        var settings = SiteClassifier.Settings()
        settings.epochs = epochs
        let result = try SiteClassifier.measure(datasets: datasets.map { URL(fileURLWithPath: $0) }, settings: settings) { record in
            print(String(format: "  epoch %d: loss %.3f, train accuracy %.1f %%", record.epoch + 1, record.trainLoss, 100 * record.trainAccuracy))
        }
        print(result.text)
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(result), to: URL(fileURLWithPath: out))
            print("wrote \(out)")
        }
    }
}
