import NeuralNet
import TensorCore

/// The reference code's two Adam optimizers (Ozdemir et al.'s `inc_train.py`:
/// `train_op_classification` minimises L_c over {body, new head}, `train_op_distillation`
/// minimises L_d over {body, old heads}, both Adam at the same rate) as one optimizer, so that
/// the training loop and its checkpoint hold both. Every parameter keeps one set of Adam
/// moments per loss (slots `classification.*` and `distillation.*`); on a new-data batch the
/// body takes one Adam step on ∂L_c (stashed by the trainer) and one on ∂L_d, as the two ops
/// did; on an exemplar batch only the distillation step runs.
public final class TwoLossAdam: Optimizer {
    let adam: Adam
    /// The new head's parameters (their gradient is always L_c's).
    let classificationOnly: Set<ObjectIdentifier>
    /// ∂L_c of the body's parameters for the current step, keyed by the parameter's tensor.
    var stashed: [ObjectIdentifier: Tensor] = [:]

    public init(parameters: [Parameter], newHead: [Parameter], learningRate: Double) {
        adam = Adam(parameters, learningRate: learningRate)
        classificationOnly = Set(newHead.map { ObjectIdentifier($0.value) })
        super.init(groups: [ParameterGroup(parameters, learningRate: learningRate)])
    }

    /// Moves the gradient of every parameter outside the new head into the stash (after
    /// L_c's backward pass, before L_d's).
    func stashClassificationGradients() {
        stashed = [:]
        for group in groups {
            for parameter in group.parameters where !classificationOnly.contains(ObjectIdentifier(parameter.value)) {
                guard let gradient = parameter.value.grad else { continue }
                stashed[ObjectIdentifier(parameter.value)] = gradient
                parameter.value.grad = nil
            }
        }
    }

    public override func update(_ value: Tensor, gradient: Tensor, group: ParameterGroup, state: inout [String: Tensor]) {
        let key = ObjectIdentifier(value)
        if classificationOnly.contains(key) {
            adamStep(value, gradient, group, &state, prefix: "classification.")
        } else {
            adamStep(value, gradient, group, &state, prefix: "distillation.")
            if let classification = stashed.removeValue(forKey: key) { adamStep(value, classification, group, &state, prefix: "classification.") }
        }
    }

    /// One Adam update with the moments under `prefix`.
    private func adamStep(_ value: Tensor, _ gradient: Tensor, _ group: ParameterGroup, _ state: inout [String: Tensor], prefix: String) {
        var slots: [String: Tensor] = [:]
        for (name, tensor) in state where name.hasPrefix(prefix) { slots[String(name.dropFirst(prefix.count))] = tensor }
        adam.update(value, gradient: gradient, group: group, state: &slots)
        for (name, tensor) in slots { state[prefix + name] = tensor }
    }
}
