import Foundation
import NeuralNet
import TensorCore

/// What a method keeps between tasks besides the network: class-mean images (the synthesis's
/// starting points, stored with the model at the end of each task) and exemplars (iCaRL).
public struct MethodMemory: Sendable {
    public var classMeans: [Float]?
    public var exemplars: ImageSet?

    public init(classMeans: [Float]? = nil, exemplars: ImageSet? = nil) {
        self.classMeans = classMeans
        self.exemplars = exemplars
    }
}

/// Everything a method sees while it learns task `task`.
public struct TaskContext {
    public var config: SequenceConfig
    public var data: SequenceData
    public var task: Int
    public var log: (String) -> Void

    public init(config: SequenceConfig, data: SequenceData, task: Int, log: @escaping (String) -> Void) {
        self.config = config
        self.data = data
        self.task = task
        self.log = log
    }

    public var imageShape: [Int] { data.train.shape }
    /// Task sizes up to and including this task.
    public var taskSizes: [Int] { Array(config.taskSizes[0...task]) }
    public var oldClasses: Int { task == 0 ? 0 : data.tasks[task - 1].upperBound }
    public var seenClasses: Int { data.tasks[task].upperBound }
    /// This task's real training images.
    public var taskTrain: ImageSet { data.train.restricted(to: Set(data.tasks[task])) }
    /// The validation images of every class seen so far.
    public var seenValidation: ImageSet { data.validation.restricted(to: Set(0..<seenClasses)) }
    /// The images model selection reads (`model_selection`): by default this task's classes
    /// only, since a data-free method keeps no image of the old classes; `seen_classes` is
    /// the reference code's choice (it selected on the test images of every seen class).
    public var selectionValidation: ImageSet {
        config.modelSelection == SequenceConfig.seenClassesSelection ? seenValidation : data.validation.restricted(to: Set(data.tasks[task]))
    }
    /// A seed for this task's randomness, distinct per method and task.
    public func seed(_ salt: UInt64) -> UInt64 { config.seed &* 1_000_003 &+ UInt64(task) &* 7_919 &+ salt }

    /// A fresh net of this task's structure (weights to be loaded).
    public func freshNet(norm: NormKind) -> IncrementalNet {
        IncrementalNet(inChannels: imageShape[0], imageSize: imageShape[1], taskSizes: taskSizes, norm: norm, backbone: config.backboneChoice)
    }
}

/// What learning a task produced.
public struct TaskOutcome {
    public var model: IncrementalNet
    public var memory: MethodMemory
    public var synthesisSeconds: Double = 0
    public var updateSeconds: Double = 0
    /// The synthetic images the update used (data-free methods).
    public var synthetic: ImageSet?
}

/// A class-incremental method: learns one task after another from that task's images (and
/// whatever it kept), and predicts over every class seen so far.
public protocol ClassIncrementalMethod {
    static var name: String { get }
    /// One line for the report.
    static var summary: String { get }
    /// The normalisation its network uses.
    var norm: NormKind { get }
    /// Learns task `context.task`; `previous` is the model after the previous task (nil at the first).
    func learn(_ context: TaskContext, previous: IncrementalNet?, memory: MethodMemory) throws -> TaskOutcome
    /// Predicted classes of `set` after a task.
    func predict(model: IncrementalNet, memory: MethodMemory, set: ImageSet) -> [Int]
}

extension ClassIncrementalMethod {
    public func predict(model: IncrementalNet, memory: MethodMemory, set: ImageSet) -> [Int] { model.predict(set) }
}

/// The model of the new task: the previous one with its head grown (or a fresh one at task 0).
func grownModel(_ context: TaskContext, previous: IncrementalNet?, norm: NormKind) throws -> IncrementalNet {
    guard let previous else {
        return IncrementalNet(inChannels: context.imageShape[0], imageSize: context.imageShape[1], classes: context.config.taskSizes[0], norm: norm,
                              backbone: context.config.backboneChoice)
    }
    let model = try previous.copy(inChannels: context.imageShape[0], imageSize: context.imageShape[1], taskSizes: Array(context.taskSizes.dropLast()))
    for p in model.net.parameters() { p.frozen = false }
    model.expand(newClasses: context.config.taskSizes[context.task])
    return model
}

/// A registry entry: a name and a way to build the method.
public struct MethodEntry {
    public var name: String
    public var summary: String
    public var make: () -> ClassIncrementalMethod

    public init<M: ClassIncrementalMethod>(_ type: M.Type, make: @escaping () -> M) {
        name = M.name
        summary = M.summary
        self.make = make
    }
}

/// The registered methods; a new method is one file plus one entry here.
public struct MethodRegistry {
    public var entries: [MethodEntry]

    public static let builtIn = MethodRegistry(entries: [
        MethodEntry(FineTuneMethod.self) { FineTuneMethod() },
        MethodEntry(LwFMethod.self) { LwFMethod() },
        MethodEntry(ICaRLMethod.self) { ICaRLMethod() },
        MethodEntry(ClassImpressionMethod.self) { ClassImpressionMethod() },
        MethodEntry(CCSIMethod.self) { CCSIMethod() },
        MethodEntry(JointMethod.self) { JointMethod() },
    ])

    public var names: [String] { entries.map(\.name) }

    public func method(named name: String) throws -> ClassIncrementalMethod {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw CILError("unknown method '\(name)'; known: \(names.joined(separator: ", "))")
        }
        return entry.make()
    }
}
