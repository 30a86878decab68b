import Dispatch
import Foundation
import TensorCore

/// A batch: images [B, C, H, W] (augmented, normalised), labels, and for segmentation the
/// masks flattened to B*H*W.
public struct Batch {
    public var images: Tensor
    public var labels: [Int]
    public var masks: [Int]?
    /// Dataset indices of the samples.
    public var indices: [Int]
}

/// Batches of a `SampleSource`: a seeded shuffle per epoch, augmentation with a random stream
/// per sample derived from (seed, epoch, index) so results do not depend on threads or
/// timing, samples loaded in parallel, and the next batch prepared in the background while
/// the current one trains.
public final class DataLoader {
    public let source: SampleSource
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    public let augmentation: Augmentation?
    public let prefetch: Bool

    public init(source: SampleSource, batchSize: Int, shuffle: Bool, seed: UInt64 = 0, dropLast: Bool = false,
                augmentation: Augmentation? = nil, prefetch: Bool = true) {
        precondition(batchSize > 0, "batch size must be positive")
        self.source = source
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.augmentation = augmentation
        self.prefetch = prefetch
    }

    /// Batches per epoch.
    public var batchCount: Int { dropLast ? source.count / batchSize : (source.count + batchSize - 1) / batchSize }

    /// The order of samples in `epoch`.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<source.count) }
        return RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9).permutation(source.count)
    }

    /// Assembles batch `batch` of `epoch`.
    public func batch(_ batch: Int, epoch: Int, order: [Int]) throws -> Batch {
        let indices = Array(order[(batch * batchSize)..<min((batch + 1) * batchSize, order.count)])
        let shape = source.sampleShape
        let size = shape.reduce(1, *)
        var samples = [Sample?](repeating: nil, count: indices.count)
        var failure: Error?
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: indices.count) { k in
            do {
                var sample = try source.sample(at: indices[k])
                if let augmentation, !augmentation.isIdentity {
                    let generator = RandomGenerator(seed: seed ^ (UInt64(epoch) << 40) ^ UInt64(indices[k]) &* 0xD1B5_4A32_D192_ED03)
                    augmentation.apply(&sample, shape: shape, valueRange: source.valueRange, generator: generator)
                }
                let (mean, std) = source.normalization(at: indices[k])
                if mean != 0 || std != 1 {
                    let inverse = 1 / std
                    for i in sample.pixels.indices { sample.pixels[i] = (sample.pixels[i] - mean) * inverse }
                }
                lock.lock(); samples[k] = sample; lock.unlock()
            } catch {
                lock.lock(); failure = failure ?? error; lock.unlock()
            }
        }
        if let failure { throw failure }
        var pixels = [Float]()
        pixels.reserveCapacity(indices.count * size)
        var masks: [Int]? = samples.first??.mask == nil ? nil : []
        for sample in samples {
            pixels += sample!.pixels
            if let mask = sample!.mask { masks?.append(contentsOf: mask) }
        }
        return Batch(images: Tensor(pixels, shape: [indices.count] + shape), labels: samples.map { $0!.label }, masks: masks, indices: indices)
    }

    /// Every batch of `epoch`, in order; with `prefetch`, the next is built while `body` runs.
    public func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws {
        let order = order(epoch: epoch)
        let count = batchCount
        guard prefetch, count > 1 else {
            for b in 0..<count { try body(try batch(b, epoch: epoch, order: order)) }
            return
        }
        /// The batch being prepared; the semaphore orders the background write before the read.
        final class Slot: @unchecked Sendable { var value: Result<Batch, Error>? }
        let queue = DispatchQueue(label: "medcil.dataloader.prefetch")
        let pending = Slot()
        let ready = DispatchSemaphore(value: 0)
        func schedule(_ b: Int) {
            queue.async {
                pending.value = Result { try self.batch(b, epoch: epoch, order: order) }
                ready.signal()
            }
        }
        schedule(0)
        for b in 0..<count {
            ready.wait()
            let current = try pending.value!.get()
            if b + 1 < count { schedule(b + 1) }
            try body(current)
        }
    }
}
