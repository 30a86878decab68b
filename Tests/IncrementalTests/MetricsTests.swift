@testable import Incremental
@testable import Metrics
import Training
import Testing

/// Metrics against values worked out by hand.
@Suite struct MetricsTests {
    /// labels      0 0 0 1 1 2
    /// predictions 0 0 1 1 2 2
    /// class 0: tp 2, fp 0, fn 1 -> precision 1, recall 2/3, F1 0.8
    /// class 1: tp 1, fp 1, fn 1 -> precision 1/2, recall 1/2, F1 1/2
    /// class 2: tp 1, fp 1, fn 0 -> precision 1/2, recall 1, F1 2/3
    /// accuracy 4/6; macro-F1 (0.8 + 0.5 + 2/3) / 3
    @Test func perClassPrecisionRecallF1() {
        let m = ClassificationMetrics(labels: [0, 0, 0, 1, 1, 2], predictions: [0, 0, 1, 1, 2, 2], names: [0: "a", 1: "b", 2: "c"])
        #expect(abs(m.accuracy - 4.0 / 6) < 1e-12)
        #expect(abs(m.perClass["a"]!.precision - 1) < 1e-12)
        #expect(abs(m.perClass["a"]!.recall - 2.0 / 3) < 1e-12)
        #expect(abs(m.perClass["a"]!.f1 - 0.8) < 1e-12)
        #expect(abs(m.perClass["b"]!.f1 - 0.5) < 1e-12)
        #expect(abs(m.perClass["c"]!.precision - 0.5) < 1e-12)
        #expect(abs(m.perClass["c"]!.f1 - 2.0 / 3) < 1e-12)
        #expect(abs(m.macroF1 - (0.8 + 0.5 + 2.0 / 3) / 3) < 1e-12)
        #expect(m.perClass["a"]!.support == 3 && m.samples == 6)
        #expect(m.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    }

    /// R (rows: after step t; columns: task j):
    ///     0.9  -    -
    ///     0.6  0.8  -
    ///     0.3  0.7  0.95
    /// forgetting (Chaudhry): task 0: max(0.9, 0.6) - 0.3 = 0.6; task 1: 0.8 - 0.7 = 0.1; mean 0.35
    /// BWT (Lopez-Paz): ((0.3 - 0.9) + (0.7 - 0.8)) / 2 = -0.35
    /// average incremental accuracy: mean of the pooled A_t (0.9, 0.7, 0.6) = 0.7333...
    @Test func forgettingBackwardTransferAndAverageIncrementalAccuracy() {
        let matrix = AccuracyMatrix(tasks: ["a", "b", "c"], values: [[0.9, nil, nil], [0.6, 0.8, nil], [0.3, 0.7, 0.95]],
                                    pooledAccuracy: [0.9, 0.7, 0.6])
        #expect(abs(matrix.forgetting! - 0.35) < 1e-12)
        #expect(abs(matrix.backwardTransfer! + 0.35) < 1e-12)
        #expect(abs(matrix.averageIncrementalAccuracy - 2.2 / 3) < 1e-12)
        #expect(matrix.finalAccuracy == 0.6)
        // One step has nothing to forget.
        let single = AccuracyMatrix(tasks: ["a"], values: [[0.9]], pooledAccuracy: [0.9])
        #expect(single.forgetting == nil && single.backwardTransfer == nil)
    }
}

/// Which sites' own experts get the largest mean weight, on a hand-made table.
@Suite struct ExpertWeightSummaryTests {
    @Test func ownExpertWeighsMost() {
        let none = ClassificationMetrics(labels: [0], predictions: [0], names: [0: "x"])
        let matrix = AccuracyMatrix(tasks: ["a", "b", "c"], values: [[1, nil, nil]], pooledAccuracy: [1])
        // Site a: base 0.6 wins. Site b: expert-c 0.7 beats expert-b 0.2. Site c: a tie (0.5, 0.5) is not a win.
        let weights: [String: [String: Double]] = [
            "a": ["base": 0.6, "expert-b": 0.3, "expert-c": 0.1],
            "b": ["base": 0.1, "expert-b": 0.2, "expert-c": 0.7],
            "c": ["base": 0.0, "expert-b": 0.5, "expert-c": 0.5],
        ]
        let result = RunEvaluation.MethodResult(method: "nmd-wsf", final: none, perSite: [:], matrix: matrix, secondsForLastSite: 0,
                                                secondsPerStep: [], meanExpertWeights: weights, experts: ["base", "expert-b", "expert-c"])
        let plain = RunEvaluation.MethodResult(method: "combined", final: none, perSite: [:], matrix: matrix, secondsForLastSite: 0,
                                               secondsPerStep: [], meanExpertWeights: nil, experts: nil)
        let evaluation = RunEvaluation(methods: [result, plain], sites: ["a", "b", "c"], settings: [:])
        #expect(evaluation.sitesWhereOwnExpertWeighsMost(method: "nmd-wsf") == ["a"])
        #expect(evaluation.sitesWhereOwnExpertWeighsMost(method: "combined") == nil)
    }
}
