import TensorCore

/// Blocks of conv3x3 + BatchNorm + ReLU + max-pool 2, then a linear head on the flattened map.
/// Keys: blocks.{i}.conv.weight, blocks.{i}.bn.*, head.weight, head.bias.
public final class SmallCNN: Module {
    public let blocks: [ConvBNReLU]
    public var head: Linear

    public init(inChannels: Int = 1, classes: Int = 10, widths: [Int] = [32, 64, 128, 256], inputSize: Int = 64, dtype: DType = .float32) {
        var blocks: [ConvBNReLU] = []
        var channels = inChannels, size = inputSize
        for width in widths {
            blocks.append(ConvBNReLU(channels, width, dtype: dtype))
            channels = width
            size /= 2
        }
        self.blocks = blocks
        head = Linear(channels * size * size, classes, dtype: dtype)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        for block in blocks { h = maxPool2d(block(h), kernel: (2, 2)) }
        return head(h.flattened(from: 1))
    }
}
