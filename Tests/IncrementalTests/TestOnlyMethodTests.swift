import Foundation
@testable import Incremental
@testable import Metrics
import Reporting
import Testing
import TestSupport

/// A method that exists only in the tests, to show that a method is one type plus one
/// registration: each test sample gets the class whose mean exported feature (every expert's
/// features side by side, over the seen sites' training exports) is nearest.
final class NearestClassMean: IncrementalMethod {
    static let entry = MethodEntry(name: "nearest-class-mean", summary: "nearest class mean of the experts' exported features",
                                   needs: .expertFeatures) { _ in NearestClassMean() }

    func addSite(_ context: StepContext) throws -> MethodStep {
        let features = try context.requireFeatures(Self.entry.name)
        let train = features.train, test = features.test
        let width = train.expertCount * train.featureDimension
        var sums: [Int: [Double]] = [:], counts: [Int: Int] = [:]
        for i in 0..<train.count {
            let label = train.labels[i]
            var sum = sums[label] ?? [Double](repeating: 0, count: width)
            for k in 0..<width { sum[k] += Double(train.features[i * width + k]) }
            sums[label] = sum
            counts[label, default: 0] += 1
        }
        let classes = sums.keys.sorted()
        let means = classes.map { c in sums[c]!.map { $0 / Double(counts[c]!) } }
        let rows = (0..<test.count).map { i -> PredictionRow in
            let distances = means.map { mean in (0..<width).reduce(0.0) { $0 + pow(Double(test.features[i * width + $1]) - mean[$1], 2) } }
            let nearest = distances.indices.min { distances[$0] < distances[$1] }!
            return PredictionRow(id: test.sampleIDs[i], site: test.sites[i], label: test.labels[i], prediction: classes[nearest], weights: [])
        }
        return MethodStep(predictions: rows, stages: [])
    }
}

@Suite(.serialized) struct TestOnlyMethodTests {
    /// The test-only method runs through the experiment (`medcil experiment run`) and the run's
    /// evaluation (`medcil evaluate --run`), its predictions match a NumPy nearest-class-mean
    /// over the same exported features, and the table and the report list it.
    @Test func registeredMethodRunsThroughExperimentAndReport() throws {
        let registry = MethodRegistry.builtIn.adding(NearestClassMean.entry)
        var settings = PhantomRun.settings
        settings.methods = ["nearest-class-mean", "max-logit"]
        let folder = PhantomRun.root.appendingPathComponent("run-nearest-class-mean")
        try? FileManager.default.removeItem(at: folder)
        let experiment = IncrementalExperiment(sites: PhantomRun.sites, settings: settings, folder: folder, registry: registry)
        experiment.log = { _ in }
        _ = try experiment.runAndEvaluate()
        let evaluation = try RunReport.write(run: folder, to: folder)

        #expect(evaluation.methods.map(\.method) == ["nearest-class-mean", "max-logit"])
        #expect(evaluation.comparisonTable.contains("nearest-class-mean"))
        let report = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(report.contains("<h3>nearest-class-mean</h3>"))

        let ledger = try RunLedger.load(from: folder)
        let steps = ledger.predictions.filter { $0.method == "nearest-class-mean" && $0.step > 0 }
        #expect(steps.map(\.step) == Array(1..<PhantomRun.siteNames.count))
        for entry in steps {
            let sites = ledger.sites.prefix(entry.step + 1).map(\.name)
            func exports(_ split: String) -> [String] {
                sites.map { folder.appendingPathComponent("features/step-\(entry.step)/\($0)/\(split)").path }
            }
            let output = try runOracle("nearest_class_mean.py", ["--train"] + exports("train") + ["--test"] + exports("test"))
            let expected = try JSONDecoder().decode([String: [Int]].self, from: Data(output.utf8))["predictions"]!
            let (rows, _) = try PredictionRow.read(from: folder.appendingPathComponent(entry.file))
            #expect(rows.map(\.prediction) == expected, "step \(entry.step)")
        }
    }

    /// A method name nobody registered is refused before anything is trained.
    @Test func unknownMethodIsRefused() throws {
        var settings = PhantomRun.settings
        settings.methods = ["nearest-class-mean"]
        let folder = PhantomRun.root.appendingPathComponent("run-unknown")
        let experiment = IncrementalExperiment(sites: PhantomRun.sites, settings: settings, folder: folder)
        #expect(throws: IncrementalError.self) { try experiment.run() }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("run.json").path))
    }
}
