/// Finite-difference gradient checking, as torch.autograd.gradcheck: compares the gradients
/// backward() computes with central differences of the function itself, in float64.
public enum GradientCheck {
    public struct Mismatch: CustomStringConvertible, Sendable {
        public let input: Int
        public let element: Int
        public let analytic: Double
        public let numeric: Double
        public var description: String { "input \(input) element \(element): analytic \(analytic), numeric \(numeric)" }
    }

    /// Checks d(sum(f(inputs) * probe))/d inputs for float64 `inputs` (all marked
    /// requiresGrad). `probe` is a fixed random tensor so that every output element counts
    /// with a different weight. Returns the mismatches (empty when the check passes).
    public static func check(_ inputs: [Tensor], epsilon: Double = 1e-6, tolerance: Double = 1e-6, seed: UInt64 = 7,
                             _ f: ([Tensor]) -> Tensor) -> [Mismatch] {
        precondition(inputs.allSatisfy { $0.dtype == .float64 }, "gradient checks run in float64")
        let generator = RandomGenerator(seed: seed)
        let probeShape = Autograd.withNoGrad { f(inputs).shape }
        let probe = Tensor.uniform(probeShape, low: -1, high: 1, generator: generator, dtype: .float64)
        func objective() -> Tensor { (f(inputs) * probe).sum() }
        for input in inputs { input.grad = nil; input.requiresGrad = true }
        objective().backward()
        var mismatches: [Mismatch] = []
        for (k, input) in inputs.enumerated() {
            let analytic = input.grad?.doubles() ?? [Double](repeating: 0, count: input.count)
            let values = input.pointer(Double.self)
            for i in 0..<input.count {
                let original = values[i]
                values[i] = original + epsilon
                let plus = Autograd.withNoGrad { objective().item() }
                values[i] = original - epsilon
                let minus = Autograd.withNoGrad { objective().item() }
                values[i] = original
                let numeric = (plus - minus) / (2 * epsilon)
                if Swift.abs(numeric - analytic[i]) > tolerance * Swift.max(1, Swift.abs(numeric)) {
                    mismatches.append(Mismatch(input: k, element: i, analytic: analytic[i], numeric: numeric))
                }
            }
        }
        return mismatches
    }
}
