import ArrayFiles
import Foundation
import Metrics
import NeuralNet
import Training

/// A trained classifier on disk, the unit sites exchange: `model.safetensors` (PyTorch keys and
/// layouts), `model.json` (this struct: architecture, classes, the site's normalisation, how
/// it was trained) and, for experts, `nmf.npy` (their Neural Mean Feature).
public struct ModelBundle: Codable, Sendable {
    public var spec: ClassifierSpec
    /// Site (or sites, for a pooled model) whose data trained it.
    public var sites: [String]
    /// The site's intensity normalisation (x/255 - mean) / std, from its dataset.json.
    public var normalization: [String: [Double]]
    public var settings: TrainingSettings
    public var outcome: TrainingOutcome?
    /// The base model an expert was initialised from (its folder name), if any.
    public var initialisedFrom: String?
    public var createdBy: String

    public init(spec: ClassifierSpec, sites: [String], normalization: [String: [Double]], settings: TrainingSettings,
                outcome: TrainingOutcome?, initialisedFrom: String?) {
        self.spec = spec
        self.sites = sites
        self.normalization = normalization
        self.settings = settings
        self.outcome = outcome
        self.initialisedFrom = initialisedFrom
        self.createdBy = "medcil \(IncrementalVersion.string)"
    }

    public static let weightsFile = "model.safetensors"
    public static let descriptionFile = "model.json"
    public static let nmfFile = "nmf.npy"

    public func save(_ model: Module, to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        try Checkpoint.save(model, to: folder.appendingPathComponent(Self.weightsFile),
                            metadata: ["architecture": spec.architecture.rawValue, "classes": spec.classes.joined(separator: ",")])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.descriptionFile))
    }

    /// Reads the description and rebuilds the model with its weights (strict key check).
    public static func load(from folder: URL) throws -> (ModelBundle, Module) {
        let bundle = try readDescription(ModelBundle.self, file: descriptionFile, in: folder,
                                         expected: "a model folder (written by `medcil train classifier`, `train expert`, `train combined` or `train fine-tune`)")
        let model = bundle.spec.build()
        try Checkpoint.load(model, from: folder.appendingPathComponent(weightsFile), strict: true)
        model.eval()
        return (bundle, model)
    }
}

public enum IncrementalVersion {
    public static let string = "0.1.0"
}

public enum IncrementalError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): return why }
    }
}

/// Reads one of MedCIL's JSON descriptions (model.json, fusion.json, features.json) with the
/// error of this layer.
func readDescription<T: Decodable>(_ type: T.Type, file: String, in folder: URL, expected: String) throws -> T {
    do { return try readJSONDescription(type, file: file, in: folder, expected: expected) } catch let error as MetricsError {
        throw IncrementalError.invalid(error.description)
    }
}
