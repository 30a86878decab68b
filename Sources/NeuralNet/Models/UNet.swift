import TensorCore

/// Transposed conv 4x4 stride 2 (no bias) + BatchNorm + ReLU: doubles the resolution.
/// Keys: conv.weight [in, out, 4, 4], bn.*
public final class UpBlock: Module {
    public let conv: ConvTranspose2d
    public let bn: BatchNorm2d

    public init(_ inChannels: Int, _ outChannels: Int, dtype: DType = .float32) {
        conv = ConvTranspose2d(inChannels, outChannels, kernel: 4, stride: 2, padding: 1, bias: false, dtype: dtype)
        bn = BatchNorm2d(outChannels, dtype: dtype)
    }

    public override func forward(_ x: Tensor) -> Tensor { bn.normalizedReLU(conv(x), overwriting: !conv.hasForwardHooks) }
}

/// conv1x1 (no bias) + BatchNorm: a head's logits. Keys: conv.weight, bn.*
public final class OutputBlock: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d

    public init(_ inChannels: Int, _ classes: Int, dtype: DType = .float32) {
        conv = Conv2d(inChannels, classes, kernel: 1, bias: false, dtype: dtype)
        bn = BatchNorm2d(classes, dtype: dtype)
    }

    public override func forward(_ x: Tensor) -> Tensor { bn(conv(x)) }
}

/// A segmentation head: conv3x3+BN+ReLU -> dropout -> conv3x3+BN+ReLU -> dropout -> conv1x1+BN.
/// Keys: block1.*, block2.*, out.*
public final class UNetHead: Module {
    public let block1: ConvBNReLU
    public let block2: ConvBNReLU
    public let out: OutputBlock
    public let dropout: Dropout

    public init(width: Int, classes: Int, dropout: Double, dtype: DType = .float32) {
        block1 = ConvBNReLU(width, width, dtype: dtype)
        block2 = ConvBNReLU(width, width, dtype: dtype)
        out = OutputBlock(width, classes, dtype: dtype)
        self.dropout = Dropout(dropout, channelwise: true)
    }

    public override func forward(_ x: Tensor) -> Tensor { out(dropout(block2(dropout(block1(x))))) }
}

/// The 2D U-Net of LwfSeg / AeiSeg (methods.md 3.2): four levels of [conv3x3+BN+ReLU] x 2 and
/// max-pool, a 16*base bottleneck (the abstraction layer is bottleneck.1), decoder levels of
/// dropout -> transposed conv + BN + ReLU -> concat skip -> [conv3x3+BN+ReLU] x 2, spatial
/// dropout after the last pool and at the end of the body, and one head per increment.
/// Keys: enc{0..3}.{0,1}.*, bottleneck.{0,1}.*, up{0..3}.*, dec{0..3}.{0,1}.*, heads.{k}.*
public final class UNet: Module {
    public let enc0: [ConvBNReLU]
    public let enc1: [ConvBNReLU]
    public let enc2: [ConvBNReLU]
    public let enc3: [ConvBNReLU]
    public let bottleneck: [ConvBNReLU]
    public let up3: UpBlock
    public let dec3: [ConvBNReLU]
    public let up2: UpBlock
    public let dec2: [ConvBNReLU]
    public let up1: UpBlock
    public let dec1: [ConvBNReLU]
    public let up0: UpBlock
    public let dec0: [ConvBNReLU]
    public var heads: [UNetHead]
    public let dropout: Dropout
    public let base: Int
    public let dropoutRate: Double
    private let dtype: DType

    public init(inChannels: Int = 1, base: Int = 32, heads classes: [Int] = [3], dropout: Double = 0.5, dtype: DType = .float32) {
        let w = [base, 2 * base, 4 * base, 8 * base]
        func pair(_ a: Int, _ b: Int) -> [ConvBNReLU] { [ConvBNReLU(a, b, dtype: dtype), ConvBNReLU(b, b, dtype: dtype)] }
        enc0 = pair(inChannels, w[0]); enc1 = pair(w[0], w[1]); enc2 = pair(w[1], w[2]); enc3 = pair(w[2], w[3])
        bottleneck = pair(w[3], 16 * base)
        up3 = UpBlock(16 * base, w[3], dtype: dtype); dec3 = pair(2 * w[3], w[3])
        up2 = UpBlock(w[3], w[2], dtype: dtype); dec2 = pair(2 * w[2], w[2])
        up1 = UpBlock(w[2], w[1], dtype: dtype); dec1 = pair(2 * w[1], w[1])
        up0 = UpBlock(w[1], w[0], dtype: dtype); dec0 = pair(2 * w[0], w[0])
        heads = classes.map { UNetHead(width: base, classes: $0, dropout: dropout, dtype: dtype) }
        self.dropout = Dropout(dropout, channelwise: true)
        self.base = base
        self.dropoutRate = dropout
        self.dtype = dtype
    }

    /// Appends a head for a new increment and returns its index.
    public func addHead(classes: Int) -> Int {
        heads.append(UNetHead(width: base, classes: classes, dropout: dropoutRate, dtype: dtype))
        return heads.count - 1
    }

    /// The encoder half of the body: bottleneck.1's output (the abstraction layer, AeiSeg's
    /// descriptor) and the skip connections, finest first. The descriptors and the encoder
    /// features need only this half, so they do not run the decoder.
    public func encode(_ x: Tensor) -> (bottleneck: Tensor, skips: [Tensor]) {
        var skips: [Tensor] = []
        var h = x
        for level in [enc0, enc1, enc2, enc3] {
            h = level.reduce(h) { $1($0) }
            skips.append(h)
            h = maxPool2d(h, kernel: (2, 2))
        }
        h = dropout(h)
        return (bottleneck.reduce(h) { $1($0) }, skips)
    }

    /// The shared body: its output feeds every head.
    public func body(_ x: Tensor) -> Tensor {
        var (h, skips) = encode(x)
        // Each skip leaves the list when its level uses it, so that the finer levels do not
        // run with the coarser levels' skips still held (14 MiB of the U-Net benchmark's
        // evaluation peak at batch 8).
        // `h` alone holds each level's maps: the upsampled map and the skip are released once
        // concatenated, the concatenation once the first convolution has read it (a `let` or
        // `reduce`'s initial value would hold them to the level's end: 64 MiB more at the
        // finest level of the benchmark's evaluation at batch 8).
        for (up, dec) in [(up3, dec3), (up2, dec2), (up1, dec1), (up0, dec0)] {
            h = up(dropout(h))
            h = Tensor.concat([h, skips.removeLast()], axis: 1)
            for block in dec { h = block(h) }
        }
        return dropout(h)
    }

    /// Logits of head `head` [N, classes, H, W].
    public func callAsFunction(_ x: Tensor, head: Int) -> Tensor { heads[head](body(x)) }

    public override func forward(_ x: Tensor) -> Tensor { self(x, head: 0) }
}
