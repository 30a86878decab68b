import Dispatch
import TensorCore

/// Median seconds of one convolution shape's three passes in MedCIL (the `--layers` table).
public struct ConvTiming: Codable, Sendable {
    public var shape: ConvShape
    public var forward: Double
    public var backwardData: Double
    public var backwardWeight: Double

    /// Times each pass `repeats` times after `warmup` untimed runs, on random data, with the
    /// threads `Parallel.threads` gives; each figure is the median.
    ///
    /// The forward pass runs without gradients. The backward passes run through autograd on a
    /// retained graph with only the input (backward-data) or only the weight (backward-weight)
    /// requiring gradients, so the convolution computes just that product. Autograd then copies
    /// the product into the leaf's `grad` (training passes it on instead); that copy is timed
    /// right after each backward on a tensor of the same size and subtracted.
    public static func measure(_ shape: ConvShape, warmup: Int, repeats: Int) -> ConvTiming {
        precondition(repeats >= 1 && warmup >= 0)
        let generator = RandomGenerator(seed: 7)
        let x = Tensor.normal([shape.batch, shape.inChannels, shape.height, shape.width], generator: generator)
        let weightShape = shape.kind == .conv ? [shape.outChannels, shape.inChannels, shape.kernel, shape.kernel]
                                              : [shape.inChannels, shape.outChannels, shape.kernel, shape.kernel]
        let w = Tensor.normal(weightShape, std: 0.05, generator: generator)
        let g = Tensor.normal([shape.batch, shape.outChannels, shape.outHeight, shape.outWidth], generator: generator)
        func apply() -> Tensor {
            let s = (shape.stride, shape.stride), p = (shape.padding, shape.padding)
            return shape.kind == .conv ? conv2d(x, weight: w, stride: s, padding: p) : convTranspose2d(x, weight: w, stride: s, padding: p)
        }
        let forward = median(warmup: warmup, repeats: repeats) { _ = Autograd.withNoGrad { apply() } }

        /// Backward through `leaf` only, less the copy into its `grad`.
        func backward(through leaf: Tensor) -> Double {
            x.requiresGrad = leaf === x
            w.requiresGrad = leaf === w
            defer { x.requiresGrad = false; w.requiresGrad = false; x.grad = nil; w.grad = nil }
            let y = Autograd.withGrad { apply() }
            return median(warmup: warmup, repeats: repeats) {
                leaf.grad = nil
                y.backward(g, retainGraph: true)
            } minus: {
                _ = leaf.clone()
            }
        }
        return ConvTiming(shape: shape, forward: forward, backwardData: backward(through: x), backwardWeight: backward(through: w))
    }

    /// GFLOP/s of each pass: (forward, backward-data, backward-weight).
    public var gigaflopsPerSecond: (forward: Double, backwardData: Double, backwardWeight: Double) {
        let f = shape.flops / 1e9
        return (f / forward, f / backwardData, f / backwardWeight)
    }
}

/// The median over `repeats` of `body`'s seconds, less `minus`'s seconds measured right after
/// each run of `body` (nothing subtracted without it).
func median(warmup: Int, repeats: Int, _ body: () -> Void, minus: (() -> Void)? = nil) -> Double {
    func seconds(_ run: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        run()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    for _ in 0..<warmup { body(); minus?() }
    var samples: [Double] = []
    for _ in 0..<repeats {
        let total = seconds(body)
        samples.append(total - (minus.map { seconds($0) } ?? 0))
    }
    samples.sort()
    let middle = samples.count / 2
    return samples.count % 2 == 1 ? samples[middle] : (samples[middle - 1] + samples[middle]) / 2
}
