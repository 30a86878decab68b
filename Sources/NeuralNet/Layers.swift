import TensorCore

#if canImport(Glibc)
import Glibc
#endif

/// The random source of layer initialisation. Reseed it before building a model to make the
/// initial weights, and the dropout masks (each Dropout takes its own stream from it when it
/// is built), repeatable. Per thread, so that models built on different threads do not draw
/// from one stream in an order that depends on timing.
public enum NeuralNetRandom {
    private final class Box { var generator = RandomGenerator(seed: 0) }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let raw = $0 { Unmanaged<AnyObject>.fromOpaque(raw).release() } }
        return key
    }()

    private static var box: Box {
        if let raw = pthread_getspecific(key) { return Unmanaged<Box>.fromOpaque(raw).takeUnretainedValue() }
        let box = Box()
        pthread_setspecific(key, Unmanaged.passRetained(box).toOpaque())
        return box
    }

    /// This thread's generator.
    public static var generator: RandomGenerator { box.generator }

    public static func seed(_ seed: UInt64) { box.generator = RandomGenerator(seed: seed) }
}

/// PyTorch's default initialisation of conv and linear layers (kaiming_uniform with a = sqrt(5)):
/// weights and biases uniform in +-1/sqrt(fan_in).
func defaultUniform(_ shape: [Int], fanIn: Int, dtype: DType) -> Tensor {
    let bound = 1 / Double(max(fanIn, 1)).squareRoot()
    return Tensor.uniform(shape, low: -bound, high: bound, generator: NeuralNetRandom.generator, dtype: dtype)
}

/// 2D convolution. y = conv(x, weight) + bias, weight [out, in, kh, kw].
public final class Conv2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int)
    public let padding: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true,
                dtype: DType = .float32) {
        let fanIn = inChannels * kernel * kernel
        weight = Parameter(defaultUniform([outChannels, inChannels, kernel, kernel], fanIn: fanIn, dtype: dtype))
        self.bias = bias ? Parameter(defaultUniform([outChannels], fanIn: fanIn, dtype: dtype)) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }
}

/// Transposed 2D convolution (upsampling), weight [in, out, kh, kw] as in PyTorch.
public final class ConvTranspose2d: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let outputPadding: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0,
                bias: Bool = true, dtype: DType = .float32) {
        // PyTorch computes fan-in from weight dimension 1 (the output channels) here.
        let fanIn = outChannels * kernel * kernel
        weight = Parameter(defaultUniform([inChannels, outChannels, kernel, kernel], fanIn: fanIn, dtype: dtype))
        self.bias = bias ? Parameter(defaultUniform([outChannels], fanIn: fanIn, dtype: dtype)) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.outputPadding = (outputPadding, outputPadding)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        convTranspose2d(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding)
    }
}

/// Fully connected layer. y = x W^T + b, W [out, in].
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32) {
        weight = Parameter(defaultUniform([outFeatures, inFeatures], fanIn: inFeatures, dtype: dtype))
        self.bias = bias ? Parameter(defaultUniform([outFeatures], fanIn: inFeatures, dtype: dtype)) : nil
    }

    public override func forward(_ x: Tensor) -> Tensor { linear(x, weight: weight.value, bias: bias?.value) }
}

/// Batch normalisation over channels: y = (x - mean) / sqrt(var + eps) * weight + bias, batch
/// statistics in training (running statistics updated with `momentum`; 1 keeps the last
/// batch's), running statistics in evaluation.
public class BatchNorm2d: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    // Snake case: property names are the checkpoint keys, which are PyTorch's.
    public let running_mean: Buffer
    public let running_var: Buffer
    public let num_batches_tracked: Buffer
    public var momentum: Double
    public let epsilon: Double

    public init(_ channels: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, affine: Bool = true, dtype: DType = .float32) {
        weight = affine ? Parameter(Tensor.ones([channels], dtype: dtype)) : nil
        bias = affine ? Parameter(Tensor.zeros([channels], dtype: dtype)) : nil
        running_mean = Buffer(Tensor.zeros([channels], dtype: dtype))
        running_var = Buffer(Tensor.ones([channels], dtype: dtype))
        num_batches_tracked = Buffer(Tensor.zeros([], dtype: dtype), isInteger: true)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public override func forward(_ x: Tensor) -> Tensor { normalize(x, relu: false) }

    /// `relu(self(x))` in one pass over memory and one graph node (the output is the ReLU mask,
    /// so nothing else is kept). With forward hooks registered it is exactly `self(x).relu()`,
    /// so that hooks see the normalisation's output.
    /// `overwriting`: x is a temporary nobody else holds (a convolution's output), so that when
    /// nothing is recorded the result may take its memory (see `batchNorm`'s `overwrite`).
    public func normalizedReLU(_ x: Tensor, overwriting: Bool = false) -> Tensor {
        hasForwardHooks ? self(x).relu() : normalize(x, relu: true, overwrite: overwriting)
    }

    /// `relu(self(x) + residual)` (a residual block's end) in one pass and one graph node, so
    /// that neither the normalised values nor the sum are kept for backward. With forward hooks
    /// registered it is exactly `(self(x) + residual).relu()`.
    public func normalizedAddReLU(_ x: Tensor, residual: Tensor, overwriting: Bool = false) -> Tensor {
        hasForwardHooks ? (self(x) + residual).relu() : normalize(x, relu: true, residual: residual, overwrite: overwriting)
    }

    /// The normalisation itself; subclasses that transform the input first override this.
    func normalize(_ x: Tensor, relu: Bool, residual: Tensor? = nil, overwrite: Bool = false) -> Tensor {
        if training { num_batches_tracked.value.fill(num_batches_tracked.value.item() + 1) }
        return batchNorm(x, weight: weight?.value, bias: bias?.value, runningMean: running_mean.value, runningVar: running_var.value,
                         training: training, momentum: momentum, epsilon: epsilon, relu: relu, residual: residual,
                         overwrite: overwrite)
    }
}

/// Continual Normalization (Pham et al., ICLR 2022): group normalisation without affine over
/// `groups` groups, then batch normalisation. Keys are BatchNorm2d's.
public final class ContinualNorm: BatchNorm2d {
    public let groups: Int

    public init(_ channels: Int, groups: Int = 4, momentum: Double = 0.1, epsilon: Double = 1e-5, dtype: DType = .float32) {
        self.groups = groups
        super.init(channels, momentum: momentum, epsilon: epsilon, dtype: dtype)
    }

    override func normalize(_ x: Tensor, relu: Bool, residual: Tensor? = nil, overwrite: Bool = false) -> Tensor {
        // The group norm's output is a temporary of this call's own: always free to overwrite.
        super.normalize(groupNorm(x, groups: groups, epsilon: epsilon), relu: relu, residual: residual, overwrite: true)
    }
}

/// Group normalisation with an optional per-channel affine.
public final class GroupNorm: Module {
    public let groups: Int
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Double

    public init(groups: Int, channels: Int, epsilon: Double = 1e-5, affine: Bool = true, dtype: DType = .float32) {
        self.groups = groups
        weight = affine ? Parameter(Tensor.ones([channels], dtype: dtype)) : nil
        bias = affine ? Parameter(Tensor.zeros([channels], dtype: dtype)) : nil
        self.epsilon = epsilon
    }

    public override func forward(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, weight: weight?.value, bias: bias?.value, epsilon: epsilon)
    }
}

/// Dropout of elements (or, `channelwise`, of whole feature maps: spatial dropout). Active in
/// training, and in evaluation too when `monteCarlo` is on (MC-dropout uncertainty).
public final class Dropout: Module {
    public let probability: Double
    public let channelwise: Bool
    public var monteCarlo = false
    /// This layer's own random stream (taken from NeuralNetRandom when built; reseed with
    /// `reseed`).
    public private(set) var generator: RandomGenerator

    public init(_ probability: Double, channelwise: Bool = false) {
        self.probability = probability
        self.channelwise = channelwise
        generator = NeuralNetRandom.generator.split()
    }

    public func reseed(_ seed: UInt64) { generator = RandomGenerator(seed: seed) }

    public override func forward(_ x: Tensor) -> Tensor {
        dropout(x, probability: probability, active: training || monteCarlo, channelwise: channelwise, generator: generator)
    }
}

/// Cosine classifier: logits = sigma * <x/|x|, w_c/|w_c|> with a learnable scale sigma
/// (or none, for the halves of a split layer). Keys: weight [out, in], sigma [1].
public final class CosineLinear: Module {
    public let weight: Parameter
    public let sigma: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, sigma: Bool = true, dtype: DType = .float32) {
        weight = Parameter(defaultUniform([outFeatures, inFeatures], fanIn: inFeatures, dtype: dtype))
        self.sigma = sigma ? Parameter(Tensor.ones([1], dtype: dtype)) : nil
    }

    public init(weight: Tensor, sigma: Tensor?) {
        self.weight = Parameter(weight)
        self.sigma = sigma.map { Parameter($0) }
    }

    /// The cosine scores before the scale sigma.
    public func scores(_ x: Tensor) -> Tensor {
        linear(x.l2Normalized(axis: 1), weight: weight.value.l2Normalized(axis: 1), bias: nil)
    }

    public override func forward(_ x: Tensor) -> Tensor {
        let s = scores(x)
        return sigma.map { s * $0.value } ?? s
    }
}

/// A cosine classifier split into old classes (fc1) and new classes (fc2), concatenated and
/// scaled by one shared sigma, so old-class weights can be frozen while new ones learn.
/// Keys: fc1.weight, fc2.weight, sigma.
public final class SplitCosineLinear: Module {
    public let fc1: CosineLinear
    public let fc2: CosineLinear
    public let sigma: Parameter

    public init(_ inFeatures: Int, oldClasses: Int, newClasses: Int, dtype: DType = .float32) {
        fc1 = CosineLinear(inFeatures, oldClasses, sigma: false, dtype: dtype)
        fc2 = CosineLinear(inFeatures, newClasses, sigma: false, dtype: dtype)
        sigma = Parameter(Tensor.ones([1], dtype: dtype))
    }

    /// Pre-sigma cosine scores of old then new classes.
    public func scores(_ x: Tensor) -> Tensor { Tensor.concat([fc1(x), fc2(x)], axis: 1) }

    public override func forward(_ x: Tensor) -> Tensor { scores(x) * sigma.value }
}

/// Applies modules in order; children are named "0", "1", ... as in torch.nn.Sequential.
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) { self.layers = layers }

    public override func namedChildren() -> [(String, Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public override func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
