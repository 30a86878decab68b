import Benchmarks
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

/// The parts of `medcil bench train` that do not depend on time: which convolutions a net
/// runs, how many FLOPs each does, that the PyTorch peer traces the same ones, and what the
/// memory report reads from a recorded graph.
@Suite struct BenchmarkShapeTests {
    static func conv(_ cin: Int, _ cout: Int, _ k: Int, _ s: Int, _ p: Int, _ size: Int, batch: Int = 32) -> ConvShape {
        ConvShape(kind: .conv, batch: batch, inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: p, height: size, width: size)
    }

    /// The reference work's expert (ResNet-18, CIFAR stem, 1x112x112, batch 32), written out by
    /// hand from the architecture: the stem, then per stage two basic blocks whose first conv
    /// strides (stages 2-4) and whose 1x1 shortcut runs after the block's second conv.
    @Test func expertConvolutionsInCallOrder() {
        func c(_ cin: Int, _ cout: Int, _ k: Int, _ s: Int, _ p: Int, _ size: Int) -> ConvShape { Self.conv(cin, cout, k, s, p, size) }
        let block = { (cin: Int, cout: Int, size: Int) -> [ConvShape] in
            cin == cout ? [c(cin, cout, 3, 1, 1, size), c(cout, cout, 3, 1, 1, size)]
                        : [c(cin, cout, 3, 2, 1, size), c(cout, cout, 3, 1, 1, size / 2), c(cin, cout, 1, 2, 0, size)]
        }
        var expected: [ConvShape] = [c(1, 64, 3, 1, 1, 112)]
        let blocks: [(Int, Int, Int)] = [(64, 64, 112), (64, 64, 112), (64, 128, 112), (128, 128, 56), (128, 256, 56), (256, 256, 28),
                                         (256, 512, 28), (512, 512, 14)]
        for (cin, cout, size) in blocks { expected += block(cin, cout, size) }
        let traced = BenchNet.expert.convolutions
        #expect(traced.count == 20)
        #expect(traced == expected, "\(traced)")
        let distinct = ConvShape.distinct(traced)
        let distinctShapes: [ConvShape] = [
            c(1, 64, 3, 1, 1, 112), c(64, 64, 3, 1, 1, 112), c(64, 128, 3, 2, 1, 112), c(128, 128, 3, 1, 1, 56), c(64, 128, 1, 2, 0, 112),
            c(128, 256, 3, 2, 1, 56), c(256, 256, 3, 1, 1, 28), c(128, 256, 1, 2, 0, 56), c(256, 512, 3, 2, 1, 28), c(512, 512, 3, 1, 1, 14),
            c(256, 512, 1, 2, 0, 28),
        ]
        #expect(distinct.map(\.shape) == distinctShapes)
        #expect(distinct.map(\.count) == [1, 4, 1, 3, 1, 1, 3, 1, 1, 3, 1])
    }

    /// FLOPs per pass against products worked by hand.
    @Test func flopCounts() {
        // 2 * 32 * 64 * 64 * 9 * 112 * 112 = 29 595 009 024
        let same = Self.conv(64, 64, 3, 1, 1, 112)
        #expect(same.outHeight == 112 && same.outWidth == 112)
        #expect(same.flops == 29_595_009_024)
        // stride 2: (112 + 2 - 3) / 2 + 1 = 56; 2 * 32 * 128 * 64 * 9 * 56 * 56 = 14 797 504 512
        let strided = Self.conv(64, 128, 3, 2, 1, 112)
        #expect(strided.outHeight == 56)
        #expect(strided.flops == 14_797_504_512)
        // 1x1 stride 2 shortcut: 2 * 32 * 128 * 64 * 56 * 56 = 1 644 167 168
        #expect(Self.conv(64, 128, 1, 2, 0, 112).flops == 1_644_167_168)
        // The U-Net's first up-sampling, 512 -> 256, 4x4 stride 2 padding 1 at 8x8, batch 8:
        // output (8 - 1) * 2 - 2 + 4 = 16; FLOPs over the input positions: 2 * 8 * 512 * 256 * 16 * 64 = 2 147 483 648
        let up = ConvShape(kind: .transposed, batch: 8, inChannels: 512, outChannels: 256, kernel: 4, stride: 2, padding: 1, height: 8, width: 8)
        #expect(up.outHeight == 16 && up.outWidth == 16)
        #expect(up.flops == 2_147_483_648)
    }

    /// The PyTorch peer traces its own nets (torch_models.py) into the same call lists: the
    /// per-layer table compares the same convolutions on both sides.
    @Test func peerTracesTheSameConvolutions() throws {
        let script = TestPaths.root.appendingPathComponent("python/peers/train_torch.py").path
        let result = try runProcess("python3", [script, "--shapes"])
        #expect(result.status == 0, "\(result.output)")
        guard let line = result.output.split(separator: "\n").last,
              let theirs = try? JSONDecoder().decode([String: [ConvShape]].self, from: Data(line.utf8)) else {
            Issue.record("no shape list in the peer's output: \(result.output.suffix(500))")
            return
        }
        let training = BenchNet.allCases.filter(\.trains)
        #expect(Set(theirs.keys) == Set(training.map(\.rawValue)))
        for net in training {
            let ours = net.convolutions
            #expect(!ours.isEmpty)
            #expect(theirs[net.rawValue] == ours, "\(net.rawValue): peer \(theirs[net.rawValue] ?? []) vs \(ours)")
        }
    }

    /// The graph walk behind the memory report: every tensor some backward function keeps,
    /// once, with the op that computed it and the ops that keep it; sizes from the shapes. The
    /// add's inputs are not kept (its backward reads only shapes), so x, read by nothing but
    /// relu's forward, is not in the graph; relu keeps its own output, mul keeps both inputs.
    @Test func retainedGraphGroupsByProducerAndHolders() {
        let x = Tensor([1, -2, 3, -4, 5, -6], shape: [2, 3], requiresGrad: true)
        let w = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], requiresGrad: true)
        let h = x.relu()
        let loss = ((h + h) * w).sum()
        let graph = loss.retainedGraph()
        #expect(graph.map(\.producer) == ["sum", "add", "leaf", "relu"])
        #expect(graph.map(\.holders) == [[], ["mul"], ["mul"], ["relu"]])
        #expect(graph.map(\.bytes) == [4, 24, 24, 24])
        #expect(graph.map(\.isTrainableLeaf) == [false, false, true, false])
    }
}
