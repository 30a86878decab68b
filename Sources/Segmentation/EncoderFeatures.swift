import NeuralNet
import TensorCore

/// The content-distance features of the project's own trained U-Net, for CoRiSeg without
/// VGG16 weights (Ozdemir et al. 2018 tried this: 0.07–1.6 Dice lower than with ImageNet
/// VGG16): the outputs of the second conv block of every encoder level and of the bottleneck
/// (`enc{0..3}.1`, `bottleneck.1`), after BN and ReLU, in evaluation mode; the same layer
/// choice as VGG's conv*_2.
public enum EncoderFeatures {
    /// The five feature maps of `images` [N, C, H, W]; the model's training mode is restored.
    public static func activations(model: UNet, images: Tensor) -> [Tensor] {
        let layers: [Module] = [model.enc0[1], model.enc1[1], model.enc2[1], model.enc3[1], model.bottleneck[1]]
        var captured = [Tensor?](repeating: nil, count: layers.count)
        let hooks = layers.enumerated().map { index, layer in layer.addForwardHook { _, _, output in captured[index] = output } }
        let wasTraining = model.training
        model.eval()
        defer {
            for (layer, hook) in zip(layers, hooks) { layer.removeForwardHook(hook) }
            model.train(wasTraining)
        }
        Autograd.withNoGrad { _ = model.encode(images) }
        return captured.map { $0! }
    }
}
