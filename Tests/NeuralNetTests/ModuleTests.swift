import Foundation
@testable import NeuralNet
import Testing
import TensorCore
import TestSupport

@Suite struct ModuleTests {
    @Test func keysFollowPyTorch() {
        let net = ResNet18(inChannels: 1, classes: 8, width: 8)
        let keys = Set(Checkpoint.stateDict(net).tensors.keys)
        for key in ["conv1.weight", "bn1.weight", "bn1.running_var", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                    "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_mean", "layer4.1.bn2.bias", "linear.weight", "linear.bias"] {
            #expect(keys.contains(key), "\(key)")
        }
        #expect(!keys.contains("layer1.0.shortcut.0.weight"), "identity shortcut has no parameters")
        #expect(net.mainConvolutions.count == 17)
    }
}
