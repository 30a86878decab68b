import NeuralNet
import TensorCore

/// One convolution as the per-layer benchmark times it: kind, batch, channels, square kernel,
/// stride, padding and input size. The PyTorch peer (python/peers/train_torch.py) traces its own
/// nets into the same fields, so the two lists can be compared entry by entry.
public struct ConvShape: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// `conv2d`, weight [out, in, k, k].
        case conv
        /// `convTranspose2d` (no output padding), weight [in, out, k, k].
        case transposed
    }

    public var kind: Kind
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var kernel: Int
    public var stride: Int
    public var padding: Int
    public var height: Int
    public var width: Int

    public init(kind: Kind, batch: Int, inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, height: Int, width: Int) {
        (self.kind, self.batch, self.inChannels, self.outChannels) = (kind, batch, inChannels, outChannels)
        (self.kernel, self.stride, self.padding, self.height, self.width) = (kernel, stride, padding, height, width)
    }

    /// Output size: (H + 2p - k) / s + 1 for a convolution, (H - 1) s - 2p + k transposed.
    public var outHeight: Int { outSize(height) }
    public var outWidth: Int { outSize(width) }

    private func outSize(_ size: Int) -> Int {
        kind == .conv ? (size + 2 * padding - kernel) / stride + 1 : (size - 1) * stride - 2 * padding + kernel
    }

    /// Floating point operations of one pass (multiply and add counted apart). Forward,
    /// backward-data and backward-weight are the same product in three arrangements, so each does
    ///     convolution: 2 N C_out C_in k^2 OH OW
    ///     transposed:  2 N C_in C_out k^2 H W     (every input position scatters a k x k patch)
    public var flops: Double {
        let positions = kind == .conv ? outHeight * outWidth : height * width
        return 2 * Double(batch) * Double(outChannels) * Double(inChannels) * Double(kernel * kernel) * Double(positions)
    }

    /// "conv 64->128 3x3 s2 p1 @56x56 b32".
    public var description: String {
        "\(kind == .conv ? "conv" : "convT") \(inChannels)->\(outChannels) \(kernel)x\(kernel) s\(stride) p\(padding) @\(height)x\(width) b\(batch)"
    }

    /// Every convolution call of one forward pass of `model` on an input [batch] + sample, in
    /// call order (repeats included). The pass runs on one image without gradients in evaluation
    /// mode (shapes do not depend on either); `batch` is written into each shape.
    public static func trace(_ model: Module, sample: [Int], batch: Int) -> [ConvShape] {
        var calls: [ConvShape] = []
        var hooks: [(Module, Int)] = []
        for (_, module) in model.namedModules() {
            if let conv = module as? Conv2d {
                precondition(conv.stride.0 == conv.stride.1 && conv.padding.0 == conv.padding.1, "non-square conv in a bench net")
                hooks.append((conv, conv.addForwardHook { _, x, _ in
                    let w = conv.weight.value.shape
                    calls.append(ConvShape(kind: .conv, batch: batch, inChannels: w[1], outChannels: w[0], kernel: w[2],
                                           stride: conv.stride.0, padding: conv.padding.0, height: x.shape[2], width: x.shape[3]))
                }))
            } else if let conv = module as? ConvTranspose2d {
                precondition(conv.outputPadding == (0, 0), "output padding is not part of ConvShape")
                hooks.append((conv, conv.addForwardHook { _, x, _ in
                    let w = conv.weight.value.shape
                    calls.append(ConvShape(kind: .transposed, batch: batch, inChannels: w[0], outChannels: w[1], kernel: w[2],
                                           stride: conv.stride.0, padding: conv.padding.0, height: x.shape[2], width: x.shape[3]))
                }))
            }
        }
        defer { for (module, id) in hooks { module.removeForwardHook(id) } }
        let wasTraining = model.training
        model.eval()
        defer { model.train(wasTraining) }
        let x = Tensor.zeros([1] + sample)
        _ = Autograd.withNoGrad { model(x) }
        return calls
    }

    /// The distinct shapes of a call list, first occurrence first, with how often each occurs.
    public static func distinct(_ calls: [ConvShape]) -> [(shape: ConvShape, count: Int)] {
        var counts: [ConvShape: Int] = [:]
        var order: [ConvShape] = []
        for call in calls {
            if counts[call] == nil { order.append(call) }
            counts[call, default: 0] += 1
        }
        return order.map { ($0, counts[$0]!) }
    }
}

extension BenchNet {
    /// The convolution calls of one training step's forward pass (see `ConvShape.trace`).
    public var convolutions: [ConvShape] { ConvShape.trace(build(), sample: inputShape, batch: batch) }
}
