import ArrayFiles
import Foundation
import TensorCore

extension Optimizer {
    /// The optimizer's state as named tensors, for a checkpoint that training resumes from:
    /// `<k>.<slot>` for the k-th parameter of the groups (in order) and each of its slots
    /// (Adam's exp_avg, exp_avg_sq, step; SGD's momentum_buffer), and the learning rate of
    /// each group, so that a resumed run continues exactly where it stopped.
    public func stateTensors() -> SafeTensors {
        var file = SafeTensors()
        var index = 0
        for group in groups {
            for parameter in group.parameters {
                for (slot, tensor) in state[ObjectIdentifier(parameter)] ?? [:] {
                    file.tensors["\(index).\(slot)"] = SafeTensors.Entry(dtype: tensor.dtype == .float32 ? .F32 : .F64, shape: tensor.shape,
                                                                        data: Data(tensor.rawBytes))
                }
                index += 1
            }
        }
        file.metadata["steps"] = String(steps)
        file.metadata["learning_rates"] = groups.map { String($0.learningRate.bitPattern) }.joined(separator: ",")
        return file
    }

    /// Sets the state written by `stateTensors()` on an optimizer over the same parameters.
    public func loadState(_ file: SafeTensors) throws {
        let parameters = groups.flatMap(\.parameters)
        var restored: [ObjectIdentifier: [String: Tensor]] = [:]
        for (key, entry) in file.tensors {
            guard let dot = key.firstIndex(of: "."), let index = Int(key[..<dot]), parameters.indices.contains(index) else {
                throw OptimizerStateError("optimizer state key '\(key)' names no parameter of this optimizer (\(parameters.count) parameters)")
            }
            let dtype: DType = entry.dtype == .F32 ? .float32 : .float64
            let tensor = Tensor(shape: entry.shape, dtype: dtype, zeroed: false)
            guard tensor.rawBytes.count == entry.data.count else {
                throw OptimizerStateError("optimizer state '\(key)' has \(entry.data.count) bytes, its shape \(entry.shape) needs \(tensor.rawBytes.count)")
            }
            entry.data.withUnsafeBytes { tensor.rawBytes.copyMemory(from: $0) }
            restored[ObjectIdentifier(parameters[index]), default: [:]][String(key[key.index(after: dot)...])] = tensor
        }
        let rates = (file.metadata["learning_rates"] ?? "").split(separator: ",").compactMap { UInt64($0) }.map(Double.init(bitPattern:))
        guard rates.count == groups.count, let steps = Int(file.metadata["steps"] ?? "") else {
            throw OptimizerStateError("optimizer state lacks its step count or the learning rates of its \(groups.count) groups")
        }
        state = restored
        self.steps = steps
        for k in groups.indices { groups[k].learningRate = rates[k] }
    }
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
