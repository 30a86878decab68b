import ArrayFiles
import Foundation
import TensorCore

/// Checkpoints as safetensors with PyTorch's state_dict keys and layouts, so that
/// `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` works on the
/// equivalent PyTorch model (python/peers/torch_models.py), and back.
public enum Checkpoint {
    /// What loading found: keys the model has but the file lacks, keys the file has but the
    /// model lacks, and keys whose shapes differ.
    public struct LoadReport: Equatable, Sendable, CustomStringConvertible {
        public var missing: [String]
        public var unexpected: [String]
        public var shapeMismatches: [String]

        public var isExact: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

        public var description: String {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
            if !shapeMismatches.isEmpty { parts.append("shape mismatches: \(shapeMismatches.joined(separator: "; "))") }
            return parts.isEmpty ? "all keys matched" : parts.joined(separator: "; ")
        }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let report: LoadReport
        public var description: String { "checkpoint does not match the model: \(report)" }
    }

    /// The model's state: parameters then buffers, by key.
    public static func stateDict(_ module: Module) -> SafeTensors {
        var file = SafeTensors()
        for (key, parameter) in module.namedParameters() { file.tensors[key] = entry(parameter.value, integer: false) }
        for (key, buffer) in module.namedBuffers() { file.tensors[key] = entry(buffer.value, integer: buffer.isInteger) }
        return file
    }

    public static func save(_ module: Module, to url: URL, metadata: [String: String] = [:]) throws {
        var file = stateDict(module)
        file.metadata = metadata.merging(["format": "pt", "producer": "medcil"]) { a, _ in a }
        try file.write(to: url)
    }

    /// Copies the file's tensors into the model. `strict` (the default) throws when any key is
    /// missing, unexpected or mismatched; non-strict loads what matches and reports the rest.
    @discardableResult
    public static func load(_ module: Module, from url: URL, strict: Bool = true) throws -> LoadReport {
        try load(module, state: try SafeTensors.read(from: url), strict: strict)
    }

    @discardableResult
    public static func load(_ module: Module, state: SafeTensors, strict: Bool = true) throws -> LoadReport {
        var targets: [String: Tensor] = [:]
        for (key, parameter) in module.namedParameters() { targets[key] = parameter.value }
        for (key, buffer) in module.namedBuffers() { targets[key] = buffer.value }
        var report = LoadReport(missing: [], unexpected: [], shapeMismatches: [])
        report.missing = targets.keys.filter { state.tensors[$0] == nil }.sorted()
        report.unexpected = state.tensors.keys.filter { targets[$0] == nil }.sorted()
        for key in targets.keys.sorted() {
            guard let target = targets[key], let entry = state.tensors[key] else { continue }
            if entry.shape != target.shape {
                report.shapeMismatches.append("\(key): file \(entry.shape), model \(target.shape)")
            }
        }
        if strict && !report.isExact { throw LoadError(report: report) }
        Autograd.withNoGrad {
            for (key, target) in targets {
                guard let entry = state.tensors[key], entry.shape == target.shape, let values = try? entry.floats() else { continue }
                if target.dtype == .float32 {
                    let p = target.pointer(Float.self)
                    for i in 0..<values.count { p[i] = values[i] }
                } else {
                    // Keep float64 precision when the file has it.
                    let p = target.pointer(Double.self)
                    if entry.dtype == .F64 {
                        entry.data.withUnsafeBytes { raw in
                            let src = raw.bindMemory(to: Double.self)
                            for i in 0..<src.count { p[i] = src[i] }
                        }
                    } else {
                        for i in 0..<values.count { p[i] = Double(values[i]) }
                    }
                }
            }
        }
        return report
    }

    static func entry(_ tensor: Tensor, integer: Bool) -> SafeTensors.Entry {
        if integer {
            let values = tensor.doubles().map { Int64($0.rounded()) }
            return SafeTensors.Entry(dtype: .I64, shape: tensor.shape, data: values.withUnsafeBytes { Data($0) })
        }
        return SafeTensors.Entry(dtype: tensor.dtype == .float32 ? .F32 : .F64, shape: tensor.shape, data: Data(tensor.rawBytes))
    }
}
