import ArrayFiles
import Foundation
import NeuralNet
import Support
import TensorCore
import Training

/// `medcil seg train | increment` as a library: a site's converted shard folder in, a model
/// folder out (weights with PyTorch keys, model.json, exemplar memories, the resolved config),
/// resumable after a kill (per-epoch checkpoint under `<out>/resume/`), and a rerun with the
/// same data, method and settings reuses the finished model.
public struct SegmentationRun {
    public var settings: SegmentationSettings
    public var say: (String) -> Void = { print($0) }
    public var onEpoch: (EpochRecord, Bool) -> Void = { _, _ in }

    public init(settings: SegmentationSettings) { self.settings = settings }

    /// Trains a fresh network on `data` (its train split; val for the best epoch) and keeps an
    /// exemplar memory for each rule in `rules`, so that any later increment finds its own.
    public func train(data: URL, out: URL, rules: [ExemplarRule] = ExemplarRule.allCases) throws -> SegmentationModel {
        let settings = try settings.validated()
        let train = try SliceSet.load(folder: data, split: "train"), validation = try SliceSet.loadIfPresent(folder: data, split: "val")
        let fingerprint = Self.fingerprint(["train", try ConfigLoader.yaml(settings), rules.map(\.rawValue).joined(separator: ","),
                                            Self.describe(train)])
        if let done = try reuse(out, fingerprint) { return done }
        try writeConfig(out)
        let network = SegmentationModel.fresh(base: settings.base, dropout: settings.dropout, classes: [train.classes], seed: settings.seed)
        let weights = try SegmentationLosses.classWeights(pixelCounts: try train.pixelCounts())
        let batches = SegmentationBatches(data: train, softTargets: [], replay: nil, replayRatio: 0, batchSize: settings.batchSize,
                                          seed: settings.seed, augment: settings.augment)
        let outcome = try fit(network, heads: .init(new: 0, newWeights: weights), batches: batches, validation: validation,
                              out: out, fingerprint: fingerprint)
        var model = SegmentationModel(network: network, description: .init(
            base: settings.base, dropout: settings.dropout, imageSize: [train.height, train.width],
            heads: [.init(structures: train.structures, site: train.site, classWeights: weights)], history: ["train"],
            exemplarSelections: [:], companions: [], fingerprint: fingerprint))
        for rule in rules { try keep(rule: rule, in: &model, head: 0, data: train, previous: nil, out: out) }
        try finish(model, out: out, outcome: outcome)
        return model
    }

    /// Extends the model in `previous` with the structures annotated in `data` by `method`.
    /// `oldData` (the old increments' shard folder) is needed by `joint` only; `volumes` keeps
    /// the first n training volumes of `data` (Case 2: a single annotated volume).
    public func increment(previous: URL, data: URL, method: SegmentationMethodEntry, out: URL, oldData: URL? = nil,
                          volumes: Int? = nil) throws -> SegmentationModel {
        let settings = try settings.validated()
        let plan = method.plan
        // The previous network's dropout streams and a new head's weights come from this seed,
        // so that an increment does not depend on what ran before it in the process.
        NeuralNetRandom.seed(settings.seed ^ 0x1C4E_3E47)
        let old = try SegmentationModel.load(from: previous)
        var train = try SliceSet.load(folder: data, split: "train")
        if let volumes { train = try train.firstVolumes(volumes) }
        let validation = try SliceSet.loadIfPresent(folder: data, split: "val")
        if let clash = train.structures.first(where: { old.structures.contains($0) }) {
            throw SegmentationError.invalid("\(data.path) annotates \(clash), which \(previous.path) already segments; an increment adds new structures")
        }
        var replayData: SliceSet?
        if plan.replay == .oldData {
            guard let oldData else { throw SegmentationError.invalid("method \(method.name) trains on all data: give the old increment's shard folder (--old-data)") }
            guard old.description.heads.count == 1 else {
                throw SegmentationError.invalid("method \(method.name) replays one old increment's labels; \(previous.path) has \(old.description.heads.count) heads")
            }
            replayData = try SliceSet.load(folder: oldData, split: "train")
            guard replayData!.structures == old.description.heads[0].structures else {
                throw SegmentationError.invalid("\(oldData.path) annotates \(replayData!.structures), the old head segments \(old.description.heads[0].structures)")
            }
        }
        let fingerprint = Self.fingerprint(["increment", method.name, try ConfigLoader.yaml(settings), old.description.fingerprint,
                                            Self.describe(train), replayData.map(Self.describe) ?? ""])
        if let done = try reuse(out, fingerprint) { return done }
        try writeConfig(out)

        let weights = try SegmentationLosses.classWeights(pixelCounts: try train.pixelCounts())
        let newHead = Head(structures: train.structures, site: train.site, classWeights: weights)
        let network: UNet, heads: SegmentationTrainer.Heads, description: [SegmentationModel.Head]
        var softTargets: [Tensor] = [], replay: ReplaySet?
        switch plan.start {
        case .fresh where plan.replay == .oldData:
            network = SegmentationModel.fresh(base: settings.base, dropout: settings.dropout,
                                              classes: [replayData!.classes, train.classes], seed: settings.seed)
            heads = .init(new: 1, newWeights: weights, old: [0], oldWeights: [old.description.heads[0].classWeights])
            description = old.description.heads + [newHead]
            replay = ReplaySet(annotated: replayData!)
        case .fresh:
            network = SegmentationModel.fresh(base: settings.base, dropout: settings.dropout, classes: [train.classes], seed: settings.seed)
            heads = .init(new: 0, newWeights: weights)
            description = [newHead]
        case .previous:
            network = old.network
            let oldHeads = Array(old.description.heads.indices)
            if plan.distil {
                // Computed once by the frozen previous model, before its new head exists.
                softTargets = try oldHeads.map { try SoftTargets.compute(model: network, head: $0, images: train.tensor) }
            }
            if case .exemplars(let rule) = plan.replay {
                guard let memory = old.memories[rule.rawValue] else {
                    throw SegmentationError.invalid("\(previous.path) keeps no \(rule.rawValue) exemplars (kept: \(old.memories.keys.sorted().joined(separator: ", "))); train it with that exemplar rule")
                }
                guard memory.softTargetClasses.count == oldHeads.count else {
                    throw SegmentationError.invalid("\(previous.path): the \(rule.rawValue) exemplars hold soft targets of \(memory.softTargetClasses.count) heads, the model has \(oldHeads.count)")
                }
                replay = ReplaySet(memory: memory)
            }
            let index = network.addHead(classes: train.classes)
            // L_d's weights: the old heads' class weights (the reference code), or uniform 1/C (eq. (2)).
            let distillationWeights = old.description.heads.map { head in
                settings.distillationClassWeights ? head.classWeights : [Double](repeating: 1 / Double(head.classWeights.count), count: head.classWeights.count)
            }
            heads = .init(new: index, newWeights: weights, old: oldHeads, oldWeights: distillationWeights, distil: plan.distil)
            description = old.description.heads + [newHead]
        }
        // A new head is initialised from its own seed, whatever the previous model's history.
        let batches = SegmentationBatches(data: train, softTargets: softTargets, replay: replay, replayRatio: replay == nil ? 0 : settings.exemplarRatio,
                                          batchSize: settings.batchSize, seed: settings.seed, augment: settings.augment)
        let outcome = try fit(network, heads: heads, batches: batches, validation: validation, out: out, fingerprint: fingerprint)
        var model = SegmentationModel(network: network, description: .init(
            base: settings.base, dropout: settings.dropout, imageSize: [train.height, train.width], heads: description,
            history: old.description.history + [method.name], exemplarSelections: [:], companions: [], fingerprint: fingerprint))
        if plan.keepsPreviousNetwork {
            var kept = old
            kept.memories = [:]
            kept.description.exemplarSelections = [:]
            model.companions = [kept]
            model.description.companions = ["previous"]
        }
        if case .exemplars(let rule) = plan.replay {
            try keep(rule: rule, in: &model, head: heads.new, data: train, previous: old.memories[rule.rawValue], out: out)
        }
        try finish(model, out: out, outcome: outcome)
        return model
    }

    typealias Head = SegmentationModel.Head

    /// The training loop with its per-epoch checkpoint in `<out>/resume/`.
    func fit(_ network: UNet, heads: SegmentationTrainer.Heads, batches: SegmentationBatches, validation: SliceSet?, out: URL,
             fingerprint: String) throws -> TrainingOutcome {
        var trainer = SegmentationTrainer(settings: settings)
        trainer.resume = ResumeCheckpoint(folder: out.appendingPathComponent("resume"), fingerprint: fingerprint)
        trainer.onEpoch = onEpoch
        return try trainer.train(model: network, heads: heads, batches: batches, validation: validation)
    }

    /// Adds the memory that `rule` keeps after training `head` on `data`.
    func keep(rule: ExemplarRule, in model: inout SegmentationModel, head: Int, data: SliceSet, previous: ExemplarMemory?, out: URL) throws {
        let builder = ExemplarBuilder(settings: settings, scratch: out.appendingPathComponent("scratch"))
        let (memory, used) = try builder.build(rule: rule, model: model.network, head: head, data: data, previous: previous)
        model.memories[rule.rawValue] = memory
        model.description.exemplarSelections[rule.rawValue] = used
        say("   \(rule.rawValue) exemplars: \(memory.count) slices of \(Set(memory.references.map(\.volume)).count) volumes (\(used))")
        try? FileManager.default.removeItem(at: out.appendingPathComponent("scratch"))
    }

    /// Saves the model and the training record, then drops the checkpoint.
    func finish(_ model: SegmentationModel, out: URL, outcome: TrainingOutcome) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(outcome), to: out.appendingPathComponent("training.json"))
        try model.save(to: out)
        try ResumeCheckpoint(folder: out.appendingPathComponent("resume"), fingerprint: model.description.fingerprint).remove()
    }

    /// The finished model in `out` when it was made from the same inputs; an error when `out`
    /// holds another model.
    func reuse(_ out: URL, _ fingerprint: String) throws -> SegmentationModel? {
        guard SegmentationModel.exists(at: out) else { return nil }
        let model = try SegmentationModel.load(from: out)
        guard model.description.fingerprint == fingerprint else {
            throw SegmentationError.invalid("\(out.path) holds a model trained from other data or settings; give another output folder or remove it")
        }
        say("   reusing the finished model in \(out.path)")
        return model
    }

    func writeConfig(_ out: URL) throws {
        try AtomicFile.ensureDirectory(out)
        try AtomicFile.write(Data(try ConfigLoader.yaml(settings).utf8), to: out.appendingPathComponent("config.resolved.yaml"))
    }

    /// Which slices a run learnt from (hashed identifiers only).
    static func describe(_ data: SliceSet) -> String {
        "\(data.site):\(data.height)x\(data.width):" + data.references.map { "\($0.volume)_\($0.slice)" }.joined(separator: ",")
    }

    static func fingerprint(_ parts: [String]) -> String {
        SHA256.hex(SHA256.hash(Array(parts.joined(separator: "\n").utf8)))
    }
}
