import Foundation

/// A class-incremental sequence, read from YAML over `SequenceConfig()` (command line > file >
/// these defaults). The defaults are the CCSI reference's settings (methods.md 2.4-2.5) at
/// CPU-sized counts; `quick` and `full` are the demo's presets.
public struct SequenceConfig: Codable, Sendable, Equatable {
    /// Where the images come from.
    public struct Dataset: Codable, Sendable, Equatable {
        /// `shards` (a folder `medcil convert echo` wrote, or the digits fixture) or `npz`
        /// (MedMNIST schema: train/val/test images and labels).
        public var kind: String = "shards"
        public var path: String = ""

        public init(kind: String = "shards", path: String = "") {
            self.kind = kind
            self.path = path
        }
    }

    /// The model update of every task (SGD as the reference: momentum 0, no weight decay).
    public struct Training: Codable, Sendable, Equatable {
        public init() {}

        public var epochs: Int = 30
        /// Epochs of the first task (its plain weighted cross-entropy).
        public var baseEpochs: Int = 30
        public var batchSize: Int = 40
        public var learningRate: Double = 0.1
        /// ReduceLROnPlateau on validation accuracy. The reference leaves PyTorch's default
        /// mode `min` (the rate drops whenever accuracy stops *falling*); `max` is the fix.
        public var plateauMode: String = "min"
        public var plateauFactor: Double = 0.3
        public var plateauPatience: Int = 5

        enum CodingKeys: String, CodingKey {
            case epochs
            case baseEpochs = "base_epochs", batchSize = "batch_size", learningRate = "learning_rate"
            case plateauMode = "plateau_mode", plateauFactor = "plateau_factor", plateauPatience = "plateau_patience"
        }
    }

    /// Class-impression synthesis (methods.md 2.4).
    public struct Synthesis: Codable, Sendable, Equatable {
        public init() {}

        /// Adam steps on the pixels per batch (reference: 5000).
        public var iterations: Int = 5000
        /// Synthetic batches per task from the second on (reference BloodMNIST: 16, 24, 30).
        public var batches: [Int] = [16, 24, 30]
        public var batchSize: Int = 40
        public var learningRate: Double = 0.05
        public var beta1: Double = 0.5
        public var beta2: Double = 0.9
        public var warmup: Int = 100
        /// The cosine schedule's factor: 0.2 in the reference code (0.5 in DeepInversion).
        public var cosineFactor: Double = 0.2
        public var mainLoss: Double = 1
        public var tvL2: Double = 0.01
        public var l2: Double = 0.1
        public var statistics: Double = 1
        public var firstLayerMultiplier: Double = 10
        public var jitter: Int = 30
        public var flip: Bool = true
        /// The reference clamps channel 0 only, to the ImageNet range [-0.485/0.229, 0.515/0.229].
        public var clampChannel0: Bool = true

        enum CodingKeys: String, CodingKey {
            case iterations, batches, warmup, l2, statistics, jitter, flip
            case batchSize = "batch_size", learningRate = "learning_rate", beta1 = "beta_1", beta2 = "beta_2"
            case cosineFactor = "cosine_factor", mainLoss = "main_loss", tvL2 = "tv_l2"
            case firstLayerMultiplier = "first_layer_multiplier", clampChannel0 = "clamp_channel_0"
        }
    }

    /// The CCSI/CI update losses (methods.md 2.5).
    public struct Update: Codable, Sendable, Equatable {
        public init() {}

        /// Share of synthetic samples an epoch draws (rs_ratio).
        public var syntheticRatio: Double = 0.66
        /// Feature distillation weight, scaled by sqrt(old / new) (adapt_lamda).
        public var lambdaBase: Double = 5
        public var margin: Double = 0.3
        public var marginWeight: Double = 1
        /// IdC momentum rho and temperature tau per task from the second on.
        public var rho: [Double] = [0.9, 0.999, 0.9]
        public var tau: [Double] = [1, 1, 1]
        public var contrastiveWeight: Double = 1

        enum CodingKeys: String, CodingKey {
            case margin, rho, tau
            case syntheticRatio = "synthetic_ratio", lambdaBase = "lambda_base", marginWeight = "margin_weight"
            case contrastiveWeight = "contrastive_weight"
        }
    }

    public var dataset = Dataset()
    /// Canonical labels in the order they arrive (explicit; classes not listed are left out).
    public var classOrder: [Int] = []
    /// Classes per task, e.g. [2, 2, 2, 2].
    public var taskSizes: [Int] = []
    /// Side of the square network input; images are resized to `imageSize - 2 * padding` and
    /// zero-padded (the reference pads MedMNIST's 28 to 32).
    public var imageSize: Int = 32
    public var padding: Int = 2
    public var seed: UInt64 = 0
    /// The network under every method's cosine head: `predictor` (the CCSI reference's small
    /// residual net) or `resnet18` (its CIFAR-style ResNet-18, `resnet_width` wide).
    public var backbone: String = "predictor"
    public var resnetWidth: Int = 64
    /// Registered methods to run, in order.
    public var methods: [String] = ["fine-tune", "lwf", "icarl-ce", "ci", "ccsi", "joint"]
    /// Share of the training split held out, unlabelled, for the IdC target batches.
    public var poolFraction: Double = 0.1
    /// Share of the training split held out for model selection when the dataset has no val split.
    public var validationFraction: Double = 0.1
    /// Which validation images choose each task's best epoch: `current_task` (the default: the
    /// new classes' only, as nothing of the old classes may be kept) or `seen_classes` (every
    /// class so far: the reference code's choice, on its test split; methods.md 2.5).
    public var modelSelection: String = SequenceConfig.currentTaskSelection
    public static let currentTaskSelection = "current_task", seenClassesSelection = "seen_classes"
    public var exemplarsPerClass: Int = 20
    /// LwF and iCaRL logit distillation temperature.
    public var temperature: Double = 2
    public var training = Training()
    public var synthesis = Synthesis()
    public var update = Update()
    /// Per task (by index from 0): epochs and synthetic batch count that replace the defaults.
    public var taskOverrides: [TaskOverride] = []
    /// Threads for the independent synthetic batches.
    public var workers: Int = 2

    public struct TaskOverride: Codable, Sendable, Equatable {
        public var task: Int
        public var epochs: Int?
        public var syntheticBatches: Int?
        public var tvL2: Double?

        enum CodingKeys: String, CodingKey {
            case task, epochs
            case syntheticBatches = "synthetic_batches", tvL2 = "tv_l2"
        }
    }

    enum CodingKeys: String, CodingKey {
        case dataset, seed, methods, padding, training, synthesis, update, workers, temperature, backbone
        case resnetWidth = "resnet_width"
        case classOrder = "class_order", taskSizes = "task_sizes", imageSize = "image_size"
        case poolFraction = "pool_fraction", validationFraction = "validation_fraction", modelSelection = "model_selection"
        case exemplarsPerClass = "exemplars_per_class", taskOverrides = "task_overrides"
    }

    public init() {}

    /// Checks what the file alone cannot (readable errors before any work).
    public func validate() throws {
        guard !taskSizes.isEmpty, taskSizes.allSatisfy({ $0 > 0 }) else { throw CILError("task_sizes must list at least one positive class count") }
        guard taskSizes.reduce(0, +) == classOrder.count else {
            throw CILError("task_sizes \(taskSizes) sum to \(taskSizes.reduce(0, +)) but class_order lists \(classOrder.count) classes")
        }
        guard Set(classOrder).count == classOrder.count else { throw CILError("class_order repeats a class: \(classOrder)") }
        guard imageSize - 2 * padding >= 4 else { throw CILError("image_size \(imageSize) leaves no image inside padding \(padding)") }
        guard imageSize >= 16 else { throw CILError("image_size must be at least 16 (the stem's stride 2 and the pool of 7)") }
        guard Backbone.names.contains(backbone) else { throw CILError("backbone is \(Backbone.names.joined(separator: " or ")), not '\(backbone)'") }
        guard resnetWidth >= 4, resnetWidth % 4 == 0 else { throw CILError("resnet_width must be a positive multiple of 4 (Continual Normalization's 4 groups)") }
        for method in methods where !MethodRegistry.builtIn.names.contains(method) {
            throw CILError("unknown method '\(method)'; known: \(MethodRegistry.builtIn.names.joined(separator: ", "))")
        }
        guard (0..<1).contains(update.syntheticRatio) else { throw CILError("update.synthetic_ratio must be in [0, 1)") }
        guard ["min", "max"].contains(training.plateauMode) else { throw CILError("training.plateau_mode is min or max") }
        guard [Self.currentTaskSelection, Self.seenClassesSelection].contains(modelSelection) else {
            throw CILError("model_selection is \(Self.currentTaskSelection) or \(Self.seenClassesSelection), not '\(modelSelection)'")
        }
    }

    /// The backbone `backbone` and `resnet_width` name.
    public var backboneChoice: Backbone { backbone == "resnet18" ? .resnet18(width: resnetWidth) : .predictor }

    /// The task's epochs (its override, else the defaults).
    public func epochs(task: Int) -> Int {
        taskOverrides.first { $0.task == task }?.epochs ?? (task == 0 ? training.baseEpochs : training.epochs)
    }

    /// Synthetic batches of task `task` (>= 1): its override, else the list (its last entry repeats).
    public func syntheticBatches(task: Int) -> Int {
        if let count = taskOverrides.first(where: { $0.task == task })?.syntheticBatches { return count }
        guard !synthesis.batches.isEmpty else { return 0 }
        return synthesis.batches[min(task - 1, synthesis.batches.count - 1)]
    }

    public func tvL2(task: Int) -> Double { taskOverrides.first { $0.task == task }?.tvL2 ?? synthesis.tvL2 }

    func perTask(_ values: [Double], task: Int) -> Double { values[min(max(task - 1, 0), values.count - 1)] }

    /// The reference's settings (`--full`, methods.md 2.2-2.5): MedMNIST's 28x28 padded to
    /// 32x32, 100 epochs per task, 16 / 24 / 30 synthetic batches of 40 from 5000 Adam steps with
    /// 100 warm-up steps. The README states what it costs on a 2-core machine (days).
    public mutating func applyFull() {
        imageSize = 32
        padding = 2
        training.epochs = 100
        training.baseEpochs = 100
        training.batchSize = 40
        synthesis.iterations = 5000
        synthesis.warmup = 100
        synthesis.batches = [16, 24, 30]
        synthesis.batchSize = 40
    }

    /// The 2-core preset (`--quick`): 16x16 inputs, few epochs, 2 synthetic batches of 60
    /// Adam steps per task; the README's digits table states what it costs.
    public mutating func applyQuick() {
        imageSize = 16
        padding = 0
        training.epochs = 8
        training.baseEpochs = 10
        synthesis.iterations = 60
        synthesis.warmup = 6
        synthesis.batches = [2]
    }
}

public struct CILError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
