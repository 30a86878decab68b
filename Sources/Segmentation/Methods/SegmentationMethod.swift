/// An incremental segmentation method (Ozdemir et al. 2018 and its baselines) as the trainer
/// runs it: where the network starts, whether the old heads are distilled, what is replayed.
/// A method is one file with its entry and one line in `SegmentationMethodRegistry.builtIn`.
public protocol SegmentationMethod {
    static var name: String { get }
    static var summary: String { get }
    static var plan: IncrementPlan { get }
}

/// What an increment does.
public struct IncrementPlan: Sendable, Equatable {
    public enum Start: String, Sendable {
        /// A fresh network (new data only, or all data for `joint`).
        case fresh
        /// The previous network with a new head.
        case previous
    }

    public enum Replay: Sendable, Equatable {
        case none
        /// The previous model's exemplar memory chosen by this rule (L_d only on those batches).
        case exemplars(ExemplarRule)
        /// The old increments' annotated data with its real labels (L_c of the old head): `joint`.
        case oldData
    }

    public var start: Start
    public var distil: Bool
    public var replay: Replay
    /// The previous network stays in use for the old structures (one network per structure).
    public var keepsPreviousNetwork: Bool

    public init(start: Start, distil: Bool, replay: Replay, keepsPreviousNetwork: Bool = false) {
        self.start = start; self.distil = distil; self.replay = replay; self.keepsPreviousNetwork = keepsPreviousNetwork
    }
}

/// A method's registration.
public struct SegmentationMethodEntry: Sendable {
    public let name: String
    public let summary: String
    public let plan: IncrementPlan

    public init<Method: SegmentationMethod>(_ method: Method.Type) {
        name = Method.name
        summary = Method.summary
        plan = Method.plan
    }
}

/// The registered methods, in the order tables list them.
public struct SegmentationMethodRegistry: Sendable {
    public let entries: [SegmentationMethodEntry]

    public init(_ entries: [SegmentationMethodEntry]) {
        precondition(Set(entries.map(\.name)).count == entries.count, "a segmentation method is registered twice")
        self.entries = entries
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) throws -> SegmentationMethodEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw SegmentationError.invalid("unknown segmentation method '\(name)'; registered: \(names.joined(separator: ", "))")
        }
        return entry
    }

    public static let builtIn = SegmentationMethodRegistry([
        .init(CurSeg.self), .init(SeparateNetworks.self), .init(JointTraining.self), .init(FineTuneSeg.self),
        .init(LwfSeg.self), .init(ReSeg.self), .init(AeiSeg.self), .init(CoRiSeg.self),
    ])
}
