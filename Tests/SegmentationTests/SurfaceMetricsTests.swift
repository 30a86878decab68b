import ArrayFiles
import Foundation
import Segmentation
import TensorCore
import TestSupport
import Testing

/// An ellipsoid (centre and semi-axes in voxels) on a [d, h, w] grid.
func ellipsoid(_ shape: [Int], centre: [Double], radii: [Double]) -> [Bool] {
    var out = [Bool](repeating: false, count: shape.reduce(1, *))
    for z in 0..<shape[0] {
        for y in 0..<shape[1] {
            for x in 0..<shape[2] {
                let q = [Double(z), Double(y), Double(x)]
                let r = (0..<3).map { pow((q[$0] - centre[$0]) / radii[$0], 2) }.reduce(0, +)
                out[(z * shape[1] + y) * shape[2] + x] = r <= 1
            }
        }
    }
    return out
}

@Suite struct SurfaceMetricsTests {
    let shape = [9, 22, 19]
    let spacing = [3.0, 0.91, 0.7]

    /// Reference: an ellipsoid; prediction: a shifted, larger ellipsoid with a small false-positive
    /// blob (what the paper blames its high surface distances on) and one touching the volume's
    /// edge (the border counts as background).
    func cases() -> [(String, [Bool], [Bool])] {
        let reference = ellipsoid(shape, centre: [4, 10, 9], radii: [3, 7, 6])
        var shifted = ellipsoid(shape, centre: [4.4, 11, 8], radii: [3.5, 6.2, 6.5])
        for (z, y, x) in [(1, 2, 16), (1, 3, 16), (2, 2, 16)] { shifted[(z * shape[1] + y) * shape[2] + x] = true }
        let edge = ellipsoid(shape, centre: [0, 10, 0], radii: [4, 8, 7])
        return [("shifted", shifted, reference), ("edge", edge, reference), ("edge-reversed", reference, edge)]
    }

    @Test func equalScipyOnAnisotropicMasks() throws {
        let folder = TestPaths.temporaryDirectory("surface-metrics")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, predicted, reference) in cases() {
            let p = try MaskVolume(shape: shape, spacing: spacing, voxels: predicted)
            let r = try MaskVolume(shape: shape, spacing: spacing, voxels: reference)
            let scores = try SurfaceMetrics.scores(prediction: p, reference: r)
            let pURL = folder.appendingPathComponent("\(name)-p.npy"), rURL = folder.appendingPathComponent("\(name)-r.npy")
            try NpyArray(predicted.map { UInt8($0 ? 1 : 0) }, shape: shape).write(to: pURL)
            try NpyArray(reference.map { UInt8($0 ? 1 : 0) }, shape: shape).write(to: rURL)
            let expected = try runOracle("scipy_surface_distance.py", [pURL.path, rURL.path] + spacing.map { "\($0)" })
                .split(separator: "\n").map { Double($0)! }
            #expect(expected.count == 3)
            #expect(abs(scores.dice - expected[0]) <= 1e-12, "\(name) Dice \(scores.dice) vs scipy \(expected[0])")
            #expect(abs(scores.assd - expected[1]) <= 1e-9 * max(expected[1], 1), "\(name) ASSD \(scores.assd) vs scipy \(expected[1])")
            #expect(abs(scores.hd95 - expected[2]) <= 1e-9 * max(expected[2], 1), "\(name) HD95 \(scores.hd95) vs scipy \(expected[2])")
            // Not trivially zero: the masks differ, so every score must show it.
            #expect(scores.dice < 1 && scores.assd > 0 && scores.hd95 > scores.assd)
        }
    }

    /// The separable transform equals the brute-force minimum over all feature voxels.
    @Test func distanceTransformEqualsBruteForce() {
        let shape = [5, 7, 6], spacing = [2.5, 0.8, 1.3]
        let generator = RandomGenerator(seed: 7)
        let features = (0..<shape.reduce(1, *)).map { _ in generator.next() % 9 == 0 }
        let dt = DistanceTransform.euclidean(features: features, shape: shape, spacing: spacing)
        func coordinates(_ i: Int) -> [Double] {
            [Double(i / (shape[1] * shape[2])), Double((i / shape[2]) % shape[1]), Double(i % shape[2])]
        }
        var worst = 0.0
        for i in features.indices {
            let p = coordinates(i)
            var best = Double.infinity
            for j in features.indices where features[j] {
                let q = coordinates(j)
                best = min(best, (0..<3).map { pow((p[$0] - q[$0]) * spacing[$0], 2) }.reduce(0, +).squareRoot())
            }
            worst = max(worst, abs(best - dt[i]))
        }
        #expect(features.contains(true))
        #expect(worst <= 1e-12)
        #expect(DistanceTransform.euclidean(features: [Bool](repeating: false, count: 8), shape: [2, 2, 2], spacing: [1, 1, 1])
            .allSatisfy { $0 == .infinity })
    }

    @Test func emptyStructuresAreDefined() throws {
        let empty = try MaskVolume(shape: [2, 3, 3], spacing: [1, 1, 1], voxels: [Bool](repeating: false, count: 18))
        var one = empty
        one.voxels[4] = true
        let both = try SurfaceMetrics.scores(prediction: empty, reference: empty)
        #expect(both.dice == 1 && both.assd == 0 && both.hd95 == 0 && both.isFinite)
        for (p, r) in [(empty, one), (one, empty)] {
            let s = try SurfaceMetrics.scores(prediction: p, reference: r)
            #expect(s.dice == 0 && s.assd == .infinity && s.hd95 == .infinity && !s.isFinite)
        }
        let identical = try SurfaceMetrics.scores(prediction: one, reference: one)
        #expect(identical.dice == 1 && identical.assd == 0 && identical.hd95 == 0)
        #expect(SurfaceMetrics.forgetting(diceBefore: 0.9, diceAfter: 0.6) == 0.9 - 0.6)
    }

    @Test func mismatchedVolumesAreRefused() throws {
        let a = try MaskVolume(shape: [2, 2, 2], spacing: [1, 1, 1], voxels: [Bool](repeating: true, count: 8))
        let b = try MaskVolume(shape: [2, 2, 2], spacing: [3, 1, 1], voxels: [Bool](repeating: true, count: 8))
        #expect(throws: SegmentationError.self) { try SurfaceMetrics.scores(prediction: a, reference: b) }
        #expect(throws: SegmentationError.self) { try MaskVolume(shape: [2, 2], spacing: [1, 1, 1], voxels: []) }
    }

    @Test func slicesReassembleIntoVolumes() throws {
        var stacks = SliceStacks(height: 2, width: 2)
        try stacks.add(volume: "v1", index: 1, labels: [0, 1, 1, 0])
        try stacks.add(volume: "v1", index: 0, labels: [2, 0, 0, 0])
        try stacks.add(volume: "v2", index: 1, labels: [0, 0, 0, 0])
        let (labels, shape) = try stacks.labels(of: "v1")
        #expect(shape == [2, 2, 2] && labels == [2, 0, 0, 0, 0, 1, 1, 0])
        #expect(try stacks.mask(of: "v1", label: 1, spacing: [3, 1, 1]).foregroundCount == 2)
        // v2 lacks slice 0; a repeated slice is refused.
        #expect(throws: SegmentationError.self) { try stacks.labels(of: "v2") }
        #expect(throws: SegmentationError.self) { try stacks.add(volume: "v1", index: 0, labels: [0, 0, 0, 0]) }
    }
}

@Suite struct LargestComponentTests {
    /// Random sparse masks (many components, diagonal-only contacts): equal to scipy's label +
    /// bincount + argmax, for both connectivities.
    @Test func equalsScipy() throws {
        let folder = TestPaths.temporaryDirectory("components")
        defer { try? FileManager.default.removeItem(at: folder) }
        let shape = [6, 9, 8]
        let generator = RandomGenerator(seed: 13)
        for trial in 0..<3 {
            let voxels = (0..<shape.reduce(1, *)).map { _ in generator.uniform() < 0.3 }
            let mask = try MaskVolume(shape: shape, spacing: [1, 1, 1], voxels: voxels)
            let input = folder.appendingPathComponent("m\(trial).npy")
            try NpyArray(voxels.map { UInt8($0 ? 1 : 0) }, shape: shape).write(to: input)
            for connectivity in [LargestComponent.Connectivity.face, .full] {
                let out = folder.appendingPathComponent("k\(trial)\(connectivity.rawValue).npy")
                try runOracle("scipy_largest_component.py", [input.path, connectivity.rawValue, out.path])
                let expected = try NpyArray.read(from: out).values(as: UInt8.self).map { $0 == 1 }
                let kept = LargestComponent.keep(mask, connectivity: connectivity)
                #expect(kept.voxels == expected, "trial \(trial) \(connectivity)")
                // At this density the face-connected mask falls apart into many components.
                if connectivity == .face { #expect(kept.foregroundCount > 0 && kept.foregroundCount < mask.foregroundCount) }
            }
        }
    }
}

@Suite struct SegmentationEvaluationTests {
    /// Two volumes, two structures; the scores are the metrics of the reassembled volumes, and
    /// the summaries and forgetting are their plain means and differences.
    @Test func scoresSummariesAndForgetting() throws {
        var reference = SliceStacks(height: 2, width: 3), good = SliceStacks(height: 2, width: 3), bad = SliceStacks(height: 2, width: 3)
        let r: [[Int]] = [[1, 1, 0, 2, 2, 0], [1, 0, 0, 2, 0, 0]]
        let g: [[Int]] = [[1, 1, 0, 2, 2, 2], [1, 0, 0, 2, 0, 0]]
        let b: [[Int]] = [[0, 0, 0, 2, 2, 0], [0, 0, 0, 2, 0, 0]]
        for volume in ["v1", "v2"] {
            for k in 0..<2 {
                try reference.add(volume: volume, index: k, labels: r[k])
                try good.add(volume: volume, index: k, labels: g[k])
                try bad.add(volume: volume, index: k, labels: volume == "v1" ? b[k] : g[k])
            }
        }
        let structures = [SegmentationEvaluation.Structure(name: "humerus", label: 1), .init(name: "scapula", label: 2)]
        let spacing = ["v1": [3.0, 1, 1], "v2": [3.0, 1, 1]]
        let before = try SegmentationEvaluation.evaluate(predicted: good, reference: reference, structures: structures, spacing: spacing)
        let after = try SegmentationEvaluation.evaluate(predicted: bad, reference: reference, structures: structures, spacing: spacing)
        #expect(before.count == 4)
        // Humerus is predicted exactly before; scapula has one extra voxel: Dice 2·3 / (4 + 3).
        #expect(before.filter { $0.structure == "humerus" }.allSatisfy { $0.scores.dice == 1 && $0.scores.assd == 0 })
        #expect(before.filter { $0.structure == "scapula" }.allSatisfy { abs($0.scores.dice - 6.0 / 7) <= 1e-12 })
        // After: humerus is gone in v1 (Dice 0, distances undefined) and still exact in v2.
        let summary = try SegmentationEvaluation.summary(after, structure: "humerus")
        #expect(summary.volumes == 2 && summary.dice == 0.5 && summary.undefinedDistances == 1 && summary.assd == 0)
        let forgetting = try SegmentationEvaluation.forgetting(before: before, after: after, structure: "humerus")
        #expect(forgetting.perVolume == ["v1": 1, "v2": 0] && forgetting.mean == 0.5)
        #expect(throws: SegmentationError.self) {
            try SegmentationEvaluation.evaluate(predicted: good, reference: reference, structures: structures, spacing: ["v1": [1, 1, 1]])
        }
        #expect(throws: SegmentationError.self) {
            try SegmentationEvaluation.forgetting(before: before, after: Array(after.prefix(1)), structure: "humerus")
        }
    }
}
