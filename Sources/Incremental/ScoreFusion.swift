import ArrayFiles
import DataLoading
import Foundation
import NeuralNet
import TensorCore
import Training

/// The ways MedCIL combines experts (Bransby et al. 2024; docs/methods/weighted-experts.md): the three score-fusion networks and
/// three untrained baselines.
public enum FusionMethod: String, Codable, Sendable, CaseIterable {
    /// Score fusion: z_e = l_e + sum_{j != e} W_{e<-j} h_j, then the knowledge pooler.
    case sf
    /// Weighted score fusion, weights A = softmax(MLP(NMD vectors)) (the in-distribution score).
    case nmdWSF = "nmd-wsf"
    /// Weighted score fusion, weights from the experts' features.
    case attnWSF = "attn-wsf"
    /// The largest logit of any expert for each class.
    case maxLogit = "max-logit"
    /// The largest softmax probability of any expert for each class.
    case maxSoftmax = "max-softmax"
    /// The most confident expert (largest maximum softmax probability) decides alone.
    case routing

    public var isTrained: Bool { self == .sf || self == .nmdWSF || self == .attnWSF }
}

/// The score-fusion networks. Each expert e contributes its own logits l_e and, through a
/// trainable linear map W_{e<-j} per ordered pair, every other expert's features h_j to its
/// label space; the weighted variants scale every contribution computed from expert j by a
/// learnt weight A_j (one softmax over experts per sample, from the NMD vectors or the
/// features): z_e = A_e l_e + sum_{j != e} A_j W_{e<-j} h_j. The experts stay frozen; only
/// these maps and the weighting MLP (in -> 64 -> 16 -> E) learn.
public final class ScoreFusionNetwork: Module {
    public let method: FusionMethod
    public let pooler: KnowledgePooler
    public let featureDimension: Int
    /// W_{e<-j}, for e in experts, j != e, in that order.
    public let cross: [Linear]
    public let weighting: [Linear]

    public init(method: FusionMethod, pooler: KnowledgePooler, featureDimension: Int, nmdDimension: Int) {
        precondition(method.isTrained, "\(method.rawValue) has no network")
        self.method = method
        self.pooler = pooler
        self.featureDimension = featureDimension
        let experts = pooler.expertClassCounts.count
        var cross: [Linear] = []
        for e in 0..<experts { for j in 0..<experts where j != e { cross.append(Linear(featureDimension, pooler.expertClassCounts[e])) } }
        self.cross = cross
        let input = method == .nmdWSF ? nmdDimension : featureDimension * experts
        weighting = method == .sf ? [] : [Linear(input, 64), Linear(64, 16), Linear(16, experts)]
    }

    public var expertCount: Int { pooler.expertClassCounts.count }

    /// Pooled logits [N, G] and the expert weights [N, E] (nil for SF).
    public func callAsFunction(features: Tensor, logits: Tensor, nmd: Tensor) -> (pooled: Tensor, weights: Tensor?) {
        let n = features.shape[0], experts = expertCount
        let h = (0..<experts).map { features.slice(axis: 1, $0..<($0 + 1)).reshaped([n, featureDimension]) }
        var weights: Tensor?
        if method != .sf {
            let input = method == .nmdWSF ? nmd : features.reshaped([n, experts * featureDimension])
            let hidden = weighting[1](weighting[0](input).relu()).relu()
            weights = weighting[2](hidden).softmax(axis: 1)
        }
        func weight(_ j: Int) -> Tensor? { weights?.slice(axis: 1, j..<(j + 1)) }
        let offsets = pooler.expertOffsets
        var pair = 0
        var scores: [Tensor] = []
        for e in 0..<experts {
            let own = logits.slice(axis: 1, offsets[e]..<(offsets[e] + pooler.expertClassCounts[e]))
            var z = weight(e).map { own * $0 } ?? own
            for j in 0..<experts where j != e {
                let term = cross[pair](h[j])
                z = z + (weight(j).map { term * $0 } ?? term)
                pair += 1
            }
            scores.append(z)
        }
        return (pooler.pool(Tensor.concat(scores, axis: 1)), weights)
    }
}

/// One sample's fused prediction.
public struct FusedPrediction: Sendable {
    /// Pooled class index, and its canonical index.
    public var pooledIndex: Int
    public var canonicalIndex: Int
    public var scores: [Float]
    /// The weight each expert got: learnt weights (nmd-wSF, attn-wSF), 1 for the expert that
    /// decided (max-logit, max-softmax, routing); empty for SF, which weighs no expert.
    public var expertWeights: [Float]
}

/// Training and applying fusion.
public enum ScoreFusion {
    public struct Settings: Codable, Sendable {
        public var epochs = 50
        public var batchSize = 64
        public var learningRate = 1e-3
        /// At most this many steps per epoch (Bransby et al. 2024 stop at 666).
        public var maxStepsPerEpoch = 666
        public var seed: UInt64 = 10

        public init(epochs: Int = 50, batchSize: Int = 64, learningRate: Double = 1e-3, maxStepsPerEpoch: Int = 666, seed: UInt64 = 10) {
            self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
            self.maxStepsPerEpoch = maxStepsPerEpoch; self.seed = seed
        }

        enum CodingKeys: String, CodingKey {
            case epochs, seed
            case batchSize = "batch_size"
            case learningRate = "learning_rate"
            case maxStepsPerEpoch = "max_steps_per_epoch"
        }
    }

    /// Pooled label of every sample; throws if a sample's class is unknown to every expert.
    static func pooledLabels(_ data: FeatureArrays, pooler: KnowledgePooler) throws -> [Int] {
        try data.labels.map { label in
            guard let index = pooler.pooledIndex(ofCanonical: label) else {
                throw IncrementalError.invalid("a sample of canonical class \(label) belongs to no expert's label space")
            }
            return index
        }
    }

    static func batch(_ data: FeatureArrays, _ indices: [Int]) -> (Tensor, Tensor, Tensor) {
        let (e, d, c, f) = (data.expertCount, data.featureDimension, data.logitCount, data.nmdCount)
        var features: [Float] = [], logits: [Float] = [], nmd: [Float] = []
        for i in indices {
            features += data.features[(i * e * d)..<((i + 1) * e * d)]
            logits += data.logits[(i * c)..<((i + 1) * c)]
            nmd += data.nmd[(i * f)..<((i + 1) * f)]
        }
        return (Tensor(features, shape: [indices.count, e, d]), Tensor(logits, shape: [indices.count, c]), Tensor(nmd, shape: [indices.count, f]))
    }

    /// Trains a fusion network with cross-entropy on the pooled logits and Adam, through the
    /// training loop (the epoch with the best validation accuracy kept; a `resume` folder
    /// makes a killed run continue from its last epoch).
    public static func train(method: FusionMethod, on train: FeatureArrays, validation: FeatureArrays?, taxonomy: [String: Int],
                             settings: Settings, resume: ResumeCheckpoint? = nil,
                             onEpoch: @escaping (EpochRecord) -> Void = { _ in }, onResume: @escaping (Int) -> Void = { _ in })
        throws -> (network: ScoreFusionNetwork, outcome: TrainingOutcome) {
        let pooler = try KnowledgePooler(expertClasses: train.description.experts.map(\.classes), taxonomy: taxonomy)
        NeuralNetRandom.seed(settings.seed)
        let network = ScoreFusionNetwork(method: method, pooler: pooler, featureDimension: train.featureDimension, nmdDimension: train.nmdCount)
        let labels = try pooledLabels(train, pooler: pooler)
        let optimizer = Adam(network.parameters(), learningRate: settings.learningRate)
        let batches = FeatureBatches(count: train.count, batchSize: settings.batchSize, maxSteps: settings.maxStepsPerEpoch, seed: settings.seed)
        let loop = TrainingLoop(model: network, optimizer: optimizer, batches: batches, epochs: settings.epochs) { indices in
            let (features, logits, nmd) = batch(train, indices)
            return StepResult.crossEntropy(network(features: features, logits: logits, nmd: nmd).pooled, targets: indices.map { labels[$0] })
        }
        loop.validate = validation.map { data in { try accuracy(network, on: data) } }
        loop.resume = resume
        loop.onEpoch = { record, _ in onEpoch(record) }
        loop.onResume = onResume
        return (network, try loop.run())
    }

    static func accuracy(_ network: ScoreFusionNetwork, on data: FeatureArrays) throws -> Double {
        let predictions = try predict(network: network, on: data)
        return Double(zip(predictions, data.labels).filter { $0.canonicalIndex == $1 }.count) / Double(max(data.count, 1))
    }

    /// Predictions of a trained network.
    public static func predict(network: ScoreFusionNetwork, on data: FeatureArrays) throws -> [FusedPrediction] {
        var out: [FusedPrediction] = []
        for start in stride(from: 0, to: data.count, by: 256) {
            let indices = Array(start..<min(start + 256, data.count))
            let (features, logits, nmd) = batch(data, indices)
            let (pooled, weights) = Autograd.withNoGrad { network(features: features, logits: logits, nmd: nmd) }
            let g = pooled.shape[1], e = network.expertCount
            let values = pooled.floats(), w = weights?.floats()
            for k in 0..<indices.count {
                let scores = Array(values[(k * g)..<((k + 1) * g)])
                let best = Evaluate.argmax(scores)
                out.append(FusedPrediction(pooledIndex: best, canonicalIndex: network.pooler.canonicalIndices[best], scores: scores,
                                           expertWeights: w.map { Array($0[(k * e)..<((k + 1) * e)]) } ?? []))
            }
        }
        return out
    }

    /// How an untrained combination decides: the pooled maximum of the experts' logits or
    /// probabilities, or the most confident expert alone.
    enum UntrainedRule {
        case poolMaximum(onLogits: Bool)
        case routing

        init(_ method: FusionMethod) throws {
            switch method {
            case .maxLogit: self = .poolMaximum(onLogits: true)
            case .maxSoftmax: self = .poolMaximum(onLogits: false)
            case .routing: self = .routing
            case .sf, .nmdWSF, .attnWSF:
                throw IncrementalError.invalid("\(method.rawValue) is a trained fusion: it predicts through its network")
            }
        }
    }

    /// Predictions of the untrained combinations.
    public static func predictUntrained(_ method: FusionMethod, on data: FeatureArrays, taxonomy: [String: Int]) throws -> [FusedPrediction] {
        let rule = try UntrainedRule(method)
        let pooler = try KnowledgePooler(expertClasses: data.description.experts.map(\.classes), taxonomy: taxonomy)
        let offsets = pooler.expertOffsets, counts = pooler.expertClassCounts, c = data.logitCount, e = data.expertCount
        return (0..<data.count).map { i in
            let logits = Array(data.logits[(i * c)..<((i + 1) * c)])
            // Each expert's softmax over its own classes.
            var probabilities = logits
            for k in 0..<e {
                let part = logits[offsets[k]..<(offsets[k] + counts[k])]
                let top = part.max() ?? 0
                let exps = part.map { Foundation.exp($0 - top) }
                let total = exps.reduce(0, +)
                for (m, v) in exps.enumerated() { probabilities[offsets[k] + m] = v / total }
            }
            var weights = [Float](repeating: 0, count: e)
            switch rule {
            case .poolMaximum(let onLogits):
                let (values, winners) = pooler.pool(onLogits ? logits : probabilities)
                let best = Evaluate.argmax(values)
                weights[winners[best]] = 1
                return FusedPrediction(pooledIndex: best, canonicalIndex: pooler.canonicalIndices[best], scores: values, expertWeights: weights)
            case .routing:
                // The expert whose top probability is largest decides.
                let confidence = (0..<e).map { k in probabilities[offsets[k]..<(offsets[k] + counts[k])].max() ?? 0 }
                let chosen = Evaluate.argmax(confidence)
                let local = Evaluate.argmax(Array(probabilities[offsets[chosen]..<(offsets[chosen] + counts[chosen])]))
                let canonical = taxonomy[data.description.experts[chosen].classes[local]]!
                let pooled = pooler.pooledIndex(ofCanonical: canonical)!
                weights[chosen] = 1
                var scores = [Float](repeating: 0, count: pooler.classes.count)
                scores[pooled] = confidence[chosen]
                return FusedPrediction(pooledIndex: pooled, canonicalIndex: canonical, scores: scores, expertWeights: weights)
            }
        }
    }
}

/// Batches of sample indices of exported features: a fresh seeded order each epoch (seed +
/// epoch, as the reference code reshuffles), at most `maxSteps` batches per epoch.
struct FeatureBatches: EpochBatches {
    let count: Int
    let batchSize: Int
    let maxSteps: Int
    let seed: UInt64

    var batchesPerEpoch: Int { min(maxSteps, (count + batchSize - 1) / batchSize) }

    func forEachBatch(epoch: Int, _ body: ([Int]) throws -> Void) throws {
        let order = RandomGenerator(seed: seed &+ UInt64(epoch)).permutation(count)
        for (step, start) in stride(from: 0, to: order.count, by: batchSize).enumerated() where step < maxSteps {
            try body(Array(order[start..<min(start + batchSize, order.count)]))
        }
    }
}

/// A trained fusion network on disk: `fusion.safetensors` and `fusion.json`.
public struct FusionBundle: Codable, Sendable {
    public var method: FusionMethod
    public var pooler: KnowledgePooler
    public var experts: [FeatureSet.Expert]
    public var featureDimension: Int
    public var nmdDimension: Int
    public var settings: ScoreFusion.Settings
    public var outcome: TrainingOutcome?

    public init(method: FusionMethod, pooler: KnowledgePooler, experts: [FeatureSet.Expert], featureDimension: Int, nmdDimension: Int,
                settings: ScoreFusion.Settings, outcome: TrainingOutcome?) {
        self.method = method; self.pooler = pooler; self.experts = experts; self.featureDimension = featureDimension
        self.nmdDimension = nmdDimension; self.settings = settings; self.outcome = outcome
    }

    public func save(_ network: ScoreFusionNetwork?, to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        if let network { try Checkpoint.save(network, to: folder.appendingPathComponent("fusion.safetensors"), metadata: ["method": method.rawValue]) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent("fusion.json"))
    }

    public static func load(from folder: URL) throws -> (FusionBundle, ScoreFusionNetwork?) {
        let bundle = try readDescription(FusionBundle.self, file: "fusion.json", in: folder, expected: "a fusion folder (written by `medcil train fusion`)")
        guard bundle.method.isTrained else { return (bundle, nil) }
        let network = ScoreFusionNetwork(method: bundle.method, pooler: bundle.pooler, featureDimension: bundle.featureDimension,
                                         nmdDimension: bundle.nmdDimension)
        try Checkpoint.load(network, from: folder.appendingPathComponent("fusion.safetensors"), strict: true)
        return (bundle, network)
    }
}
