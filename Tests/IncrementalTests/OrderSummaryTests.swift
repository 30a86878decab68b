import Foundation
@testable import Metrics
import Testing

/// The demo's results over sample orders: mean ± sample sd (numpy's `std(ddof=1)`), every
/// order's value, and the own-expert counts, on values worked out by hand beside each check.
struct OrderSummaryTests {
    @Test func spreadIsMeanAndSampleStandardDeviation() {
        // mean (2+4+4+4+5+5+7+9)/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sd = sqrt(32/7).
        let s = Spread([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(s.mean == 5)
        #expect(abs(s.sd - (32.0 / 7).squareRoot()) < 1e-12 && abs(s.sd - 2.138089935299395) < 1e-12)
        // One order: no spread.
        #expect(Spread([0.42]).mean == 0.42 && Spread([0.42]).sd == 0)
        #expect(Spread([0.9, 0.8, 1.0]).text("%.1f", scale: 100) == "90.0 ± 10.0")
    }

    /// Ten test samples of two classes; order k gets 9, 8 and 10 right: accuracy 0.9, 0.8, 1.0,
    /// mean 0.9, sd sqrt((0 + 0.01 + 0.01) / 2) = 0.1. Expert weights: the own expert weighs
    /// most on 1, 2 and 0 of the two sites: mean 1, sd 1.
    @Test func summaryOverOrders() {
        let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        let names = [0: "x", 1: "y"]
        func run(wrong: Int, weights: [String: [String: Double]]) -> RunEvaluation {
            var predictions = labels
            for i in 0..<wrong { predictions[i] = 1 - predictions[i] }
            let metrics = ClassificationMetrics(labels: labels, predictions: predictions, names: names)
            let accuracy = metrics.accuracy
            let matrix = AccuracyMatrix(tasks: ["a", "b"], values: [[1.0, nil], [0.5, accuracy]], pooledAccuracy: [1.0, accuracy])
            let sf = RunEvaluation.MethodResult(method: "sf", final: metrics, perSite: [:], matrix: matrix, secondsForLastSite: 1,
                                                secondsPerStep: [1, 1], meanExpertWeights: nil, experts: nil, learntExpertWeights: false)
            let wsf = RunEvaluation.MethodResult(method: "nmd-wsf", final: metrics, perSite: [:], matrix: matrix, secondsForLastSite: 1,
                                                 secondsPerStep: [1, 1], meanExpertWeights: weights, experts: ["base", "expert-b"],
                                                 learntExpertWeights: true)
            return RunEvaluation(methods: [sf, wsf], sites: ["a", "b"], settings: [:])
        }
        let summary = OrderSummary([
            run(wrong: 1, weights: ["a": ["base": 0.7, "expert-b": 0.3], "b": ["base": 0.6, "expert-b": 0.4]]),
            run(wrong: 2, weights: ["a": ["base": 0.9, "expert-b": 0.1], "b": ["base": 0.2, "expert-b": 0.8]]),
            run(wrong: 0, weights: ["a": ["base": 0.4, "expert-b": 0.6], "b": ["base": 0.55, "expert-b": 0.45]]),
        ])
        #expect(summary.orders == 3 && summary.methods.map(\.method) == ["sf", "nmd-wsf"])
        let sf = summary.methods[0]
        #expect(sf.accuracy.values == [0.9, 0.8, 1.0])
        #expect(abs(sf.accuracy.mean - 0.9) < 1e-12 && abs(sf.accuracy.sd - 0.1) < 1e-12)
        // Forgetting of task a: 1.0 - 0.5 = 0.5 in every order.
        #expect(sf.forgetting?.mean == 0.5 && sf.forgetting?.sd == 0)
        // Average incremental accuracy (1 + A)/2: 0.95, 0.9, 1.0 -> mean 0.95, sd 0.05.
        #expect(abs(sf.averageIncrementalAccuracy.mean - 0.95) < 1e-12 && abs(sf.averageIncrementalAccuracy.sd - 0.05) < 1e-12)
        // Only the method with learnt weights is counted.
        #expect(summary.ownExpertWeighsMost.map(\.method) == ["nmd-wsf"])
        let own = summary.ownExpertWeighsMost[0]
        #expect(own.perOrder == [["a"], ["a", "b"], []])
        #expect(own.sites.values == [1, 2, 0] && own.sites.mean == 1 && own.sites.sd == 1)
        #expect(summary.markdown.contains("| sf | 90.0 ± 10.0 |"))
        #expect(summary.markdown.contains("| nmd-wsf | 1.0 ± 1.0 | 1 (a) | 2 (a, b) | 0 |"))
        #expect(summary.csv.contains("sf,mean,0.900000,") && summary.csv.contains("sf,2,0.800000,"))
    }
}
