import DataLoading
import Foundation
import Segmentation
import TensorCore
import Testing

/// −log softmax(z)_c at pixel p of logits [N, C, H, W] (C order), in double precision.
func negativeLogSoftmax(_ z: [Float], shape: [Int], pixel: (n: Int, k: Int), cls: Int) -> Double {
    let (c, inner) = (shape[1], shape[2] * shape[3])
    let values = (0..<c).map { Double(z[(pixel.n * c + $0) * inner + pixel.k]) }
    let top = values.max()!
    return top + log(values.map { exp($0 - top) }.reduce(0, +)) - values[cls]
}

@Suite struct SegmentationLossTests {
    let shape = [2, 3, 4, 5]

    @Test func classWeightsAreInverseFrequenciesSummingToOne() throws {
        // raw max/n = [1, 3, 6], normalised by 10.
        let w = try SegmentationLosses.classWeights(pixelCounts: [300, 100, 50])
        #expect(zip(w, [0.1, 0.3, 0.6]).allSatisfy { abs($0 - $1) <= 1e-15 })
        #expect(try SegmentationLosses.pixelCounts(masks: [[0, 1, 1], [2, 0]], classes: 3) == [2, 2, 1])
        #expect(throws: SegmentationError.self) { try SegmentationLosses.classWeights(pixelCounts: [10, 0]) }
        #expect(throws: SegmentationError.self) { try SegmentationLosses.pixelCounts(masks: [[3]], classes: 3) }
    }

    @Test func lossesEqualTheirFormulas() throws {
        let generator = RandomGenerator(seed: 21)
        let logits = Tensor.normal(shape, generator: generator), old = Tensor.normal(shape, generator: generator)
        let teacher = Tensor.normal(shape, generator: generator).softmax(axis: 1)
        let labels = (0..<(2 * 20)).map { _ in generator.int(below: 3) }
        let weights = [0.2, 0.5, 0.3], oldWeights = [0.6, 0.3, 0.1]
        let z = logits.floats(), zo = old.floats(), t = teacher.floats()
        var lc = 0.0, ld = 0.0
        for n in 0..<2 {
            for k in 0..<20 {
                lc += weights[labels[n * 20 + k]] * negativeLogSoftmax(z, shape: shape, pixel: (n, k), cls: labels[n * 20 + k])
                for c in 0..<3 { ld += oldWeights[c] * Double(t[(n * 3 + c) * 20 + k]) * negativeLogSoftmax(zo, shape: shape, pixel: (n, k), cls: c) }
            }
        }
        lc /= 40
        ld /= 40
        let classification = SegmentationLosses.classification(logits: logits, labels: labels, weights: weights).item()
        let distillation = SegmentationLosses.distillation(logits: old, softTargets: teacher, weights: oldWeights).item()
        #expect(abs(classification - lc) <= 1e-5 * lc)
        #expect(abs(distillation - ld) <= 1e-5 * ld)
        let head = SegmentationLosses.OldHead(logits: old, softTargets: teacher, weights: oldWeights)
        let alpha = 0.3
        let newBatch = try SegmentationLosses.total(kind: .newData, alpha: alpha, newHead: (logits, labels, weights), oldHeads: [head]).item()
        #expect(abs(newBatch - (alpha * lc + (1 - alpha) * ld)) <= 1e-5 * newBatch)
        let exemplarBatch = try SegmentationLosses.total(kind: .exemplar, alpha: alpha, newHead: nil, oldHeads: [head]).item()
        #expect(abs(exemplarBatch - ld) <= 1e-5 * ld)
        let fineTune = try SegmentationLosses.total(kind: .newData, alpha: alpha, newHead: (logits, labels, weights), oldHeads: []).item()
        #expect(abs(fineTune - lc) <= 1e-5 * lc)
        #expect(throws: SegmentationError.self) { try SegmentationLosses.total(kind: .exemplar, alpha: 0.5, newHead: nil, oldHeads: []) }
        #expect(throws: SegmentationError.self) { try SegmentationLosses.total(kind: .newData, alpha: 1.5, newHead: (logits, labels, weights), oldHeads: []) }
    }

    /// Exemplar batches train only through the old head; soft targets get no gradient.
    @Test func distillationGradientReachesOnlyTheStudent() throws {
        let generator = RandomGenerator(seed: 2)
        let student = Tensor.normal(shape, generator: generator), teacher = Tensor.normal(shape, generator: generator).softmax(axis: 1)
        student.requiresGrad = true
        teacher.requiresGrad = true
        let head = SegmentationLosses.OldHead(logits: student, softTargets: teacher, weights: [1, 1, 1])
        try SegmentationLosses.total(kind: .exemplar, alpha: 0.5, newHead: nil, oldHeads: [head]).backward()
        #expect(student.grad != nil && student.grad!.floats().contains { $0 != 0 })
        #expect(teacher.grad == nil)
    }
}

@Suite struct JointAugmentationTests {
    /// An image that is its own mask (0/1) and soft targets (1 − mask, mask): after the joint
    /// rescale and flip, the soft targets' foreground channel equals the image (same bilinear
    /// warp), the mask agrees with the image wherever the image is exactly 0 or 1, and the
    /// background channel is 1 − image except in the zero padding.
    @Test func imageMaskAndSoftTargetsMoveTogether() throws {
        let (h, w) = (20, 16)
        var mask = [Int](repeating: 0, count: h * w)
        for y in 3..<12 { for x in 2..<7 { mask[y * w + x] = 1 } }
        let image = mask.map { Float($0) }
        var changed = 0
        for seed in 0..<12 as Range<UInt64> {
            var sample = Sample(pixels: image, label: 0, mask: mask)
            var targets: [Float]? = mask.map { Float(1 - $0) } + image
            try JointAugmentation().apply(&sample, shape: [1, h, w], softTargets: &targets, valueRange: 0...1,
                                          generator: RandomGenerator(seed: seed))
            let foreground = Array(targets![(h * w)...]), background = Array(targets![..<(h * w)])
            #expect(foreground == sample.pixels, "seed \(seed)")
            for k in 0..<(h * w) where sample.pixels[k] == 0 || sample.pixels[k] == 1 {
                #expect(sample.mask![k] == Int(sample.pixels[k]), "seed \(seed) pixel \(k)")
            }
            #expect(zip(background, foreground).allSatisfy { $0 + $1 <= 1 + 1e-6 })
            if sample.pixels != image { changed += 1 }
        }
        #expect(changed >= 10)
        var sample = Sample(pixels: image, label: 0, mask: mask)
        var bad: [Float]? = [0, 1, 2]
        #expect(throws: SegmentationError.self) {
            try JointAugmentation().apply(&sample, shape: [1, h, w], softTargets: &bad, valueRange: nil, generator: RandomGenerator(seed: 1))
        }
    }
}
