import Foundation
@testable import Incremental
@testable import Metrics
import Ingest
import Support
import TestSupport
import Testing

/// Accuracy and macro-F1 against scikit-learn (Tests/Oracles/sklearn_f1.py: `accuracy_score`,
/// `f1_score(average="macro", zero_division=0)`), which averages over every class present in
/// the labels or the predictions.
@Suite struct MacroF1Tests {
    static func sklearn(_ labels: [Int], _ predictions: [Int]) throws -> (accuracy: Double, macroF1: Double) {
        let output = try runOracle("sklearn_f1.py", [labels.map(String.init).joined(separator: ","),
                                                     predictions.map(String.init).joined(separator: ",")])
        let values = output.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 2 else { throw TestSupportError("sklearn_f1.py printed \(output)") }
        return (values[0], values[1])
    }

    /// Class 3 is only ever predicted: its F1 is 0 and it counts in the mean
    /// (labels-only averaging would give (0.8 + 0.5 + 2/3) / 3, not / 4).
    @Test func aClassOnlyPredictedLowersTheMean() throws {
        let labels = [0, 0, 0, 1, 1, 2, 2], predictions = [0, 0, 3, 1, 2, 2, 2]
        let ours = ClassificationMetrics(labels: labels, predictions: predictions, names: [:])
        let reference = try Self.sklearn(labels, predictions)
        #expect(abs(ours.accuracy - reference.accuracy) < 1e-12)
        #expect(abs(ours.macroF1 - reference.macroF1) < 1e-12)
        #expect(ours.classes.count == 4)
    }

    /// Seeded random label and prediction lists with missing and extra classes on either side.
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func matchesScikitLearn(_ seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let count = 5 + Int(generator.next() % 60)
        let labelClasses = 2 + Int(generator.next() % 8), predictedClasses = 2 + Int(generator.next() % 8)
        let labels = (0..<count).map { _ in Int(generator.next() % UInt64(labelClasses)) }
        // Mostly right, sometimes any class of a possibly different range.
        let predictions = labels.map { label in generator.next() % 3 == 0 ? Int(generator.next() % UInt64(predictedClasses)) + 1 : label }
        let ours = ClassificationMetrics(labels: labels, predictions: predictions, names: [:])
        let reference = try Self.sklearn(labels, predictions)
        #expect(abs(ours.accuracy - reference.accuracy) < 1e-12)
        #expect(abs(ours.macroF1 - reference.macroF1) < 1e-12, "labels \(labels) predictions \(predictions)")
    }
}
