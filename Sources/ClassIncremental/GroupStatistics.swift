import ArrayFiles
import Foundation
import NeuralNet
import TensorCore

/// CCSI's per-sample group statistics (methods.md 2.3-2.4, "class-adaptive CN statistics"):
/// for every Continual Normalization layer, the B x G means and biased variances of the
/// layer's *input* over each sample's group (C/G channels x H x W), of the last training-mode
/// batch whose size equals the first one's (the reference's `b_size`; momentum 1 makes the
/// stored matrix that batch's). They are kept with the model of the best epoch and saved
/// beside its checkpoint (`cn_group_statistics.safetensors`, keys
/// `<layer>.group_running_mean` / `<layer>.group_running_var`, as the reference's
/// `group_running_mean_list`).
///
/// In synthesis they add, per CN layer l, to that layer's statistics term R_l:
///
///     |G_var_stored - G_var(x)|_F + |G_mean_stored - G_mean(x)|_F
///
/// computed, as in the reference, from a detached input: the terms change the loss *value*
/// (and with it which iterate is kept as the best batch) but carry **no gradient**. The
/// reference pairs synthetic sample k with stored sample k and needs equal batch sizes; MedCIL
/// pairs sample k with stored row k mod B so that a synthesis batch of another size still runs.
public struct GroupStatistics: Sendable, Equatable {
    /// One layer's B x G matrices, row-major.
    public struct Layer: Sendable, Equatable {
        public var mean: [Float]
        public var variance: [Float]
        public var groups: Int
        public var rows: Int { groups == 0 ? 0 : mean.count / groups }

        public init(mean: [Float], variance: [Float], groups: Int) {
            self.mean = mean
            self.variance = variance
            self.groups = groups
        }

        /// Per-sample group mean and biased variance of `x` [B, C, H, W] (C divisible by
        /// `groups`), without gradient.
        public static func of(_ x: Tensor, groups: Int) -> Layer {
            Autograd.withNoGrad {
                let grouped = x.detach().reshaped([x.shape[0], groups, -1])
                return Layer(mean: grouped.mean(axes: [2]).floats(), variance: grouped.variance(axes: [2]).floats(), groups: groups)
            }
        }

        /// |var_stored - var(x)|_F + |mean_stored - mean(x)|_F, sample k of x paired with
        /// stored row k mod B (no gradient: a plain number).
        public func distance(to x: Tensor) -> Double {
            let current = Layer.of(x, groups: groups)
            var dm = 0.0, dv = 0.0
            for b in 0..<current.rows {
                let stored = (b % max(rows, 1)) * groups
                for g in 0..<groups {
                    let m = Double(mean[stored + g]) - Double(current.mean[b * groups + g])
                    let v = Double(variance[stored + g]) - Double(current.variance[b * groups + g])
                    dm += m * m
                    dv += v * v
                }
            }
            return dv.squareRoot() + dm.squareRoot()
        }
    }

    /// By the CN layer's module name in the net (e.g. `layer1.bn2`).
    public var layers: [String: Layer]
    /// The reference's `b_size`: the first training batch's size; only batches of this size update.
    public var batchSize: Int

    public init(layers: [String: Layer] = [:], batchSize: Int) {
        self.layers = layers
        self.batchSize = batchSize
    }

    public static let fileName = "cn_group_statistics.safetensors"

    public func write(to url: URL) throws {
        var tensors: [String: SafeTensors.Entry] = [:]
        for (name, layer) in layers {
            tensors["\(name).group_running_mean"] = .init(layer.mean, shape: [layer.rows, layer.groups])
            tensors["\(name).group_running_var"] = .init(layer.variance, shape: [layer.rows, layer.groups])
        }
        try SafeTensors(tensors: tensors, metadata: ["batch_size": "\(batchSize)"]).write(to: url)
    }

    public static func read(from url: URL) throws -> GroupStatistics {
        let file = try SafeTensors.read(from: url)
        guard let batch = file.metadata["batch_size"].flatMap(Int.init) else { throw CILError("\(url.path): no batch_size in the metadata") }
        var out = GroupStatistics(batchSize: batch)
        for (key, entry) in file.tensors where key.hasSuffix(".group_running_mean") {
            let name = String(key.dropLast(".group_running_mean".count))
            guard let variance = file.tensors["\(name).group_running_var"], entry.shape.count == 2, variance.shape == entry.shape else {
                throw CILError("\(url.path): \(name) lacks a group_running_var of the mean's [B, G] shape")
            }
            out.layers[name] = Layer(mean: try entry.floats(), variance: try variance.floats(), groups: entry.shape[1])
        }
        return out
    }
}

/// Keeps a net's `GroupStatistics` current while it trains: forward hooks on every
/// ContinualNorm record the batch's per-sample group statistics in training mode when the batch
/// has the first batch's size (evaluation-mode passes leave them alone, as in the reference).
public final class GroupStatisticsRecorder {
    public private(set) var statistics: GroupStatistics?
    private var hooks: [(Module, Int)] = []

    public init(net: Module, initial: GroupStatistics?) {
        statistics = initial
        for (name, module) in net.namedModules() {
            guard let layer = module as? ContinualNorm else { continue }
            let id = layer.addForwardHook { [unowned self] module, input, _ in
                guard module.training else { return }
                if statistics == nil { statistics = GroupStatistics(batchSize: input.shape[0]) }
                guard input.shape[0] == statistics!.batchSize else { return }
                statistics!.layers[name] = .of(input, groups: layer.groups)
            }
            hooks.append((layer, id))
        }
    }

    public func remove() {
        for (module, id) in hooks { module.removeForwardHook(id) }
        hooks = []
    }
}
