import NeuralNet
import TensorCore

/// The convolutional part of torchvision's VGG16 (configuration "D": 13 3x3 convs with bias
/// and ReLU, max-pool after blocks of 2, 2, 3, 3, 3), with torchvision's state-dict keys
/// `features.{i}.weight` / `features.{i}.bias` at i = 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24,
/// 26, 28 (ReLUs and pools hold the other indices). It loads the safetensors file that
/// `scripts/convert_vgg16.py` writes from a torchvision state dict, with strict key matching;
/// the classifier is not part of it (the content distance uses conv features only).
public final class VGG16Features: Module {
    /// The 13 convolutions in order (torchvision's conv1_1 ... conv5_3).
    public let convs: [Conv2d]

    /// torchvision's `features` index of each conv.
    public static let torchIndices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    /// Convs per block (a max-pool 2x2 follows each block).
    static let blocks = [2, 2, 3, 3, 3]
    /// Layer names conv{block}_{k}, as in the papers.
    public static let layerNames: [String] = blocks.enumerated().flatMap { b, n in (1...n).map { "conv\(b + 1)_\($0)" } }
    /// Eq. (3) of Ozdemir et al. 2018 sums over all convolutional layers.
    public static let allLayers = layerNames
    /// The reference code's choice (on VGG-19 there): the second conv of every block.
    public static let secondOfEachBlock = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]

    public override init() {
        let widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
        var cin = 3
        convs = widths.map { width in
            defer { cin = width }
            return Conv2d(cin, width, kernel: 3, padding: 1, bias: true)
        }
    }

    public override func namedChildren() -> [(String, Module)] {
        zip(Self.torchIndices, convs).map { ("features.\($0)", $1) }
    }

    /// The post-ReLU outputs of the named conv layers, in network order, for images
    /// [N, 3, H, W] already normalised as torchvision expects (see `imageNetInput`). The
    /// network runs only as deep as the last requested layer.
    public func activations(_ x: Tensor, layers: [String]) throws -> [Tensor] {
        if let unknown = layers.first(where: { !Self.layerNames.contains($0) }) {
            throw SegmentationError.invalid("VGG16 has no layer \(unknown) (it has \(Self.layerNames.joined(separator: ", ")))")
        }
        guard x.rank == 4, x.shape[1] == 3 else { throw SegmentationError.invalid("VGG16 needs images [N, 3, H, W], not \(x.shape)") }
        let indices = Set(layers.compactMap { Self.layerNames.firstIndex(of: $0) })
        return run(x, through: indices.max() ?? -1, collecting: indices).collected
    }

    /// All 13 convs and the five pools (torchvision's `features` output).
    public override func forward(_ x: Tensor) -> Tensor {
        maxPool2d(run(x, through: convs.count - 1, collecting: []).last, kernel: (2, 2))
    }

    /// Runs conv 0...`last` (with ReLU, and the pools between blocks), keeping the outputs of
    /// the convs in `collecting`.
    private func run(_ x: Tensor, through last: Int, collecting: Set<Int>) -> (collected: [Tensor], last: Tensor) {
        var out: [Tensor] = []
        var h = x, index = 0
        for (b, n) in Self.blocks.enumerated() {
            if b > 0 { h = maxPool2d(h, kernel: (2, 2)) }
            for _ in 0..<n {
                guard index <= last else { return (out, h) }
                h = convs[index](h).relu()
                if collecting.contains(index) { out.append(h) }
                index += 1
            }
        }
        return (out, h)
    }

    /// A grey slice batch [N, 1, H, W] as VGG input: values mapped from `range` to [0, 1]
    /// (clamped), tiled to three channels, standardised with ImageNet's per-channel mean and std
    /// (torchvision's convention for its weights), and resized bilinearly to `size` (224 in the
    /// paper) when given.
    public static func imageNetInput(_ slices: Tensor, range: ClosedRange<Double>, size: Int? = nil) throws -> Tensor {
        guard slices.rank == 4, slices.shape[1] == 1 else { throw SegmentationError.invalid("VGG input needs grey slices [N, 1, H, W], not \(slices.shape)") }
        guard range.upperBound > range.lowerBound else { throw SegmentationError.invalid("intensity range \(range) is empty") }
        let mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]
        let scaled = ((slices - range.lowerBound) / (range.upperBound - range.lowerBound)).clamped(min: 0, max: 1)
        var channels = (0..<3).map { c in (scaled - mean[c]) / std[c] }
        if let size { channels = channels.map { upsample($0, size: (size, size), mode: .bilinear) } }
        return Tensor.concat(channels, axis: 1)
    }
}
