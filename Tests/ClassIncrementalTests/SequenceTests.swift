import ArrayFiles
import ClassIncremental
import Foundation
import Testing
import TestSupport

@Suite struct SequenceTests {
    /// A run stopped after its second task and resumed gives the same records and the same
    /// final checkpoints, byte for byte, as an uninterrupted run.
    @Test func killedAndResumedEqualsUninterrupted() throws {
        let config = TinySequence.config(methods: ["ccsi", "lwf"])
        let data = try TinySequence.data(config)
        let root = TestPaths.temporaryDirectory("cil-resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let whole = SequenceRun(config: config, data: data, out: root.appendingPathComponent("whole"), resume: false)
        whole.log = { _ in }
        let expected = try whole.run()

        let interrupted = SequenceRun(config: config, data: data, out: root.appendingPathComponent("resumed"), resume: false)
        interrupted.log = { _ in }
        interrupted.stopAfterTasks = 3
        #expect(throws: CILError.self) { try interrupted.run() }
        let again = SequenceRun(config: config, data: data, out: root.appendingPathComponent("resumed"), resume: false)
        again.log = { _ in }
        #expect(throws: CILError.self) { try again.run() }  // without --resume an existing run is refused
        let resumed = SequenceRun(config: config, data: data, out: root.appendingPathComponent("resumed"), resume: true)
        resumed.log = { _ in }
        let results = try resumed.run()
        #expect(results.methods.map { $0.records.map(Self.withoutTimes) } == expected.methods.map { $0.records.map(Self.withoutTimes) })
        for method in ["ccsi", "lwf"] {
            for task in 1...2 {
                let a = try Data(contentsOf: root.appendingPathComponent("whole/\(method)/task-\(task)/model.safetensors"))
                let b = try Data(contentsOf: root.appendingPathComponent("resumed/\(method)/task-\(task)/model.safetensors"))
                #expect(a == b, "\(method) task \(task) checkpoint differs")
                if method == "ccsi" {
                    let name = "\(method)/task-\(task)/\(GroupStatistics.fileName)"
                    let c = try Data(contentsOf: root.appendingPathComponent("whole/\(name)"))
                    #expect(c == (try Data(contentsOf: root.appendingPathComponent("resumed/\(name)"))), "\(name) differs")
                }
            }
        }
    }

    static func withoutTimes(_ record: TaskRecord) -> TaskRecord {
        var record = record
        record.synthesisSeconds = 0
        record.updateSeconds = 0
        return record
    }

    /// iCaRL keeps at most `exemplars_per_class` images of each class, whatever the class has.
    @Test func icarlMemoryNeverExceedsItsBound() throws {
        var config = TinySequence.config(methods: ["icarl-ce"])
        config.classOrder = [0, 1, 2, 3, 4, 5]
        config.taskSizes = [2, 2, 2]
        config.training.epochs = 1
        config.training.baseEpochs = 1
        let data = try TinySequence.data(config)
        let root = TestPaths.temporaryDirectory("cil-icarl")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = SequenceRun(config: config, data: data, out: root, resume: false)
        run.log = { _ in }
        let results = try run.run()
        for (t, record) in results.methods[0].records.enumerated() {
            let labels = try NpyArray.read(from: root.appendingPathComponent("icarl-ce/task-\(t + 1)/exemplar_labels.npy")).values(as: Int64.self)
            let seen = 2 * (t + 1)
            #expect(record.memoryImages == labels.count)
            #expect(labels.count <= config.exemplarsPerClass * seen)
            for c in 0..<seen {
                let count = labels.filter { $0 == Int64(c) }.count
                #expect(count <= config.exemplarsPerClass, "class \(c) holds \(count) exemplars after task \(t + 1)")
                #expect(count == min(config.exemplarsPerClass, data.train.labels.filter { $0 == c }.count))
            }
        }
    }
}
