import ArrayFiles
import NeuralNet
import TensorCore

/// Moving weights between classifiers with different output layers.
public enum ClassifierSurgery {
    /// Keys of the output layer (replaced when the classes change).
    static func isHead(_ key: String) -> Bool { key.hasPrefix("linear.") || key.hasPrefix("head.") }

    /// Copies every tensor of `source` except its output layer into `target` (an expert starts
    /// from the base classifier's backbone with a fresh head, as Bransby et al. 2024 intend; docs/methods/weighted-experts.md).
    public static func copyBackbone(from source: Module, to target: Module) throws {
        var state = Checkpoint.stateDict(source)
        for key in state.tensors.keys where isHead(key) { state.tensors[key] = nil }
        let report = try Checkpoint.load(target, state: state, strict: false)
        let missingBackbone = report.missing.filter { !isHead($0) }
        guard missingBackbone.isEmpty, report.unexpected.isEmpty, report.shapeMismatches.isEmpty else {
            throw IncrementalError.invalid("backbones differ: \(report)")
        }
    }

    /// A copy of `model` whose output layer covers `newClasses`: rows of classes it already
    /// had keep their weights, new classes get fresh ones (fine-tuning with a growing head).
    public static func expandHead(of model: Module, spec: ClassifierSpec, to newClasses: [String]) throws -> Module {
        let expanded = spec.withClasses(newClasses).build()
        try copyBackbone(from: model, to: expanded)
        let (oldHead, newHead): (Linear, Linear)
        if let a = model as? ResNet18, let b = expanded as? ResNet18 {
            (oldHead, newHead) = (a.linear, b.linear)
        } else if let a = model as? SmallCNN, let b = expanded as? SmallCNN {
            (oldHead, newHead) = (a.head, b.head)
        } else {
            throw IncrementalError.invalid("\(type(of: model)) has no classifier head to expand")
        }
        let features = oldHead.weight.value.shape[1]
        Autograd.withNoGrad {
            let oldW = oldHead.weight.value.floats(), oldB = oldHead.bias?.value.floats()
            let w = newHead.weight.value.pointer(Float.self), b = newHead.bias?.value.pointer(Float.self)
            for (row, name) in newClasses.enumerated() {
                guard let old = spec.classes.firstIndex(of: name) else { continue }
                for k in 0..<features { w[row * features + k] = oldW[old * features + k] }
                if let b, let oldB { b[row] = oldB[old] }
            }
        }
        return expanded
    }
}
