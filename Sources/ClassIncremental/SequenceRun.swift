import ArrayFiles
import Foundation
import Metrics
import NeuralNet
import Support

/// `medcil cil run` as a library: every method of the config through every task, one task
/// after another, a checkpoint after each (`TaskCheckpoint`); with `resume`, finished tasks
/// are loaded instead of learnt again, so a killed run continues where it stopped and ends with
/// the same numbers as an uninterrupted one (every random draw comes from (seed, task)).
public final class SequenceRun {
    public let config: SequenceConfig
    public let data: SequenceData
    public let out: URL
    public let resume: Bool
    public var registry: MethodRegistry = .builtIn
    public var log: (String) -> Void = { print($0) }
    /// Stop after this many tasks have been learnt in this process (tests kill a run this way).
    public var stopAfterTasks: Int?

    public init(config: SequenceConfig, data: SequenceData, out: URL, resume: Bool) {
        self.config = config
        self.data = data
        self.out = out
        self.resume = resume
    }

    /// The config's dataset, read relative to the config file's folder.
    public convenience init(config: SequenceConfig, configFolder: URL?, out: URL, resume: Bool) throws {
        let splits = try DatasetSplits.load(config.dataset, relativeTo: configFolder)
        self.init(config: config, data: try SequenceData(splits: splits, config: config), out: out, resume: resume)
    }

    /// Runs (or resumes) the sequence; returns the results, also written to `out`.
    @discardableResult
    public func run() throws -> SequenceResults {
        try AtomicFile.ensureDirectory(out)
        let resolved = try ConfigLoader.yaml(config)
        let resolvedURL = out.appendingPathComponent("config.resolved.yaml")
        if let existing = try? String(contentsOf: resolvedURL, encoding: .utf8) {
            guard resume else { throw CILError("\(out.path) already holds a sequence run; pass --resume to continue it, or choose an empty folder") }
            guard existing == resolved else {
                throw CILError("\(out.path) holds a run of a different configuration (config.resolved.yaml differs); choose another folder")
            }
        } else {
            try AtomicFile.write(Data(resolved.utf8), to: resolvedURL)
        }
        log(String(format: "sequence: %d classes in %d tasks (%@), %dx%d inputs; train %d, pool %d (unlabelled), validation %d, test %d",
                   data.classNames.count, data.tasks.count, config.taskSizes.map(String.init).joined(separator: "-"),
                   data.train.shape[1], data.train.shape[2], data.train.count, data.pool.count, data.validation.count, data.test.count))
        var learnt = 0
        var records: [String: [TaskRecord]] = [:]
        for name in config.methods {
            let method = try registry.method(named: name)
            log("\n== \(name): \(type(of: method).summary)")
            var model: IncrementalNet?
            var memory = MethodMemory()
            for task in data.tasks.indices {
                let folder = TaskCheckpoint.folder(out, method: name, task: task)
                let sizes = Array(config.taskSizes[0...task])
                if let record = try TaskCheckpoint.record(in: folder) {
                    (model, memory) = try TaskCheckpoint.load(from: folder, norm: method.norm, imageShape: data.train.shape, taskSizes: sizes,
                                                              backbone: config.backboneChoice)
                    records[name, default: []].append(record)
                    log(String(format: "   task %d: resumed from %@ (A_t %.3f)", task + 1, folder.path, record.pooledAccuracy))
                    continue
                }
                if let stop = stopAfterTasks, learnt >= stop { throw CILError("stopped after \(stop) tasks (as asked)") }
                let context = TaskContext(config: config, data: data, task: task, log: log)
                // Fresh layers (a grown head's new rows) draw from a stream fixed by (seed, method,
                // task), so a resumed run builds exactly what an uninterrupted one built.
                NeuralNetRandom.seed(context.seed(name.utf8.reduce(UInt64(17)) { $0 &* 31 &+ UInt64($1) }))
                let outcome = try method.learn(context, previous: model, memory: memory)
                let record = evaluate(method: method, name: name, task: task, outcome: outcome)
                try TaskCheckpoint.save(outcome, record: record, imageShape: data.train.shape, to: folder)
                if let synthetic = outcome.synthetic, synthetic.count > 0 {
                    try ImpressionGrids.write(synthetic, classMeans: outcome.memory.classMeans, classes: data.classNames, to: folder.appendingPathComponent("impressions"))
                }
                (model, memory) = (outcome.model, outcome.memory)
                records[name, default: []].append(record)
                learnt += 1
                log(String(format: "   task %d: A_t %.3f, R[t] %@; synthesis %.1f s, update %.1f s", task + 1, record.pooledAccuracy,
                           record.taskAccuracy.map { String(format: "%.2f", $0) }.joined(separator: " "), record.synthesisSeconds, record.updateSeconds))
            }
        }
        let results = SequenceResults(config: config, classNames: data.classNames, records: config.methods.map { records[$0] ?? [] })
        try results.write(to: out)
        return results
    }

    func evaluate(method: ClassIncrementalMethod, name: String, task: Int, outcome: TaskOutcome) -> TaskRecord {
        let seen = data.seenClasses(through: task)
        let test = data.test.restricted(to: Set(0..<seen))
        let predicted = method.predict(model: outcome.model, memory: outcome.memory, set: test)
        func accuracy(_ classes: Range<Int>) -> Double {
            let rows = test.labels.indices.filter { classes.contains(test.labels[$0]) }
            return rows.isEmpty ? 0 : Double(rows.filter { predicted[$0] == test.labels[$0] }.count) / Double(rows.count)
        }
        return TaskRecord(method: name, task: task, taskAccuracy: data.tasks[0...task].map(accuracy), classAccuracy: (0..<seen).map { accuracy($0..<($0 + 1)) },
                          pooledAccuracy: accuracy(0..<seen), synthesisSeconds: outcome.synthesisSeconds, updateSeconds: outcome.updateSeconds,
                          syntheticImages: outcome.synthetic?.count ?? 0, memoryImages: outcome.memory.exemplars?.count ?? 0)
    }
}
