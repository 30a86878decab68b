import Foundation
import NeuralNet
import TensorCore

/// How exemplars are chosen after a training (Ozdemir et al. 2018, §2.2).
public enum ExemplarRule: String, Codable, Sendable, CaseIterable {
    /// ReSeg: k_r slices containing the structure, at random.
    case random = "reseg"
    /// AeiSeg: MC-dropout certainty, then set cover over abstraction-layer cosine distances.
    case abstraction = "aeiseg"
    /// CoRiSeg: MC-dropout certainty, then set cover over the content distance of eq. (3).
    case content = "coriseg"
}

/// Builds the exemplar memory a trained model carries into its next increment: the picks of
/// the rule for every structure just learnt, after the entries of the memory it already had
/// (rank by rank, so a full memory drops the latest picks), at most `capacity` slices, with
/// the soft targets of every head of the model recomputed on the kept slices.
public struct ExemplarBuilder {
    public var settings: SegmentationSettings
    /// A folder for the content features' scratch file.
    public var scratch: URL

    public init(settings: SegmentationSettings, scratch: URL) {
        self.settings = settings
        self.scratch = scratch
    }

    /// The memory after training `model` on `data` (whose structures head `head` learnt),
    /// and what measured the distance (for CoRiSeg: VGG16 or the U-Net's own encoder).
    public func build(rule: ExemplarRule, model: UNet, head: Int, data: SliceSet, previous: ExemplarMemory?) throws -> (ExemplarMemory, String) {
        let exemplars = try settings.exemplars.validated()
        let picks: [(structure: String, picks: [SliceReference])]
        var used: String
        switch rule {
        case .random:
            used = "random slices containing each structure, seed \(settings.seed)"
            let generator = RandomGenerator(seed: settings.seed ^ 0x5EE_D0E5)
            picks = data.structures.enumerated().map { k, name in
                let containing = data.masks.indices.filter { data.masks[$0].contains(k + 1) }
                let order = generator.permutation(containing.count).prefix(exemplars.representatives)
                return (name, order.map { data.references[containing[$0]] })
            }
        case .abstraction, .content:
            let images = data.tensor
            let structures = data.structures.enumerated().map { k, name in
                ExemplarSelection.Structure(name: name, head: head, label: k + 1, contains: data.masks.map { $0.contains(k + 1) })
            }
            let selected: [ExemplarSelection.Picks]
            if rule == .abstraction {
                used = "abstraction layer bottleneck.1 (cosine)"
                let descriptors = try AbstractionDescriptors.compute(model: model, images: images)
                selected = try ExemplarSelection.select(model: model, images: images, structures: structures,
                                                        distances: try abstractionDistances(descriptors: descriptors.values, dims: descriptors.dims),
                                                        settings: exemplars)
            } else {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                let file = scratch.appendingPathComponent("content-features-\(ProcessInfo.processInfo.processIdentifier).npy")
                defer { try? FileManager.default.removeItem(at: file) }
                let extractor: (Tensor) throws -> [Tensor]
                if let path = settings.vgg16 {
                    let vgg = VGG16Features()
                    do { _ = try Checkpoint.load(vgg, from: URL(fileURLWithPath: path)) } catch {
                        throw SegmentationError.invalid("\(path): not VGG16 conv weights from scripts/convert_vgg16.py (\(error))")
                    }
                    vgg.eval()
                    let low = Double(data.pixels.min() ?? 0), high = Double(data.pixels.max() ?? 1)
                    used = "VGG16 \(path) (all 13 convs)"
                    extractor = { batch in
                        try vgg.activations(try VGG16Features.imageNetInput(batch, range: low...max(high, low + 1e-6),
                                                                            size: self.settings.vgg16InputSize),
                                            layers: VGG16Features.allLayers)
                    }
                } else {
                    used = "the U-Net's own encoder (enc0-3.1, bottleneck.1); no VGG16 file given"
                    extractor = { EncoderFeatures.activations(model: model, images: $0) }
                }
                let distances = MinMaxNormalized(try ContentDistances(images: images, scratch: file, extractor: extractor))
                selected = try ExemplarSelection.select(model: model, images: images, structures: structures, distances: distances,
                                                        settings: exemplars)
            }
            picks = selected.map { ($0.structure, $0.representatives.map { data.references[$0] }) }
        }
        return (try assemble(picks: picks, model: model, data: data, previous: previous, capacity: exemplars.capacity), used)
    }

    /// The bounded memory of the previous entries and the new picks, soft targets from `model`.
    func assemble(picks: [(structure: String, picks: [SliceReference])], model: UNet, data: SliceSet,
                  previous: ExemplarMemory?, capacity: Int) throws -> ExemplarMemory {
        var selections: [(structure: String, picks: [SliceReference])] = []
        if let previous {
            var order: [String] = []
            for e in previous.exemplars { for s in e.structures where !order.contains(s) { order.append(s) } }
            selections = order.map { s in (s, previous.exemplars.filter { $0.structures.contains(s) }.map(\.reference)) }
        }
        selections += picks
        let kept = ExemplarMemory.merge(selections: selections, capacity: capacity)
        let indexOf = Dictionary(data.references.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let old = Dictionary((previous?.exemplars ?? []).map { ($0.reference, $0) }, uniquingKeysWith: { a, _ in a })
        var images: [Float] = [], masks: [[Int]] = []
        for (reference, _) in kept {
            if let e = old[reference] { images += e.image; masks.append(e.mask) } else if let i = indexOf[reference] {
                images += data.image(i); masks.append(data.masks[i])
            } else {
                throw SegmentationError.invalid("exemplar \(reference.volume) slice \(reference.slice) is neither kept nor in the training data")
            }
        }
        let (h, w) = (data.height, data.width)
        let classes = model.heads.map { $0.out.conv.weight.value.shape[0] }
        var memory = try ExemplarMemory(capacity: capacity, imageShape: [1, h, w], softTargetClasses: classes)
        guard !kept.isEmpty else { return memory }
        let tensor = Tensor(images, shape: [kept.count, 1, h, w])
        let soft = try model.heads.indices.map { try SoftTargets.compute(model: model, head: $0, images: tensor).floats() }
        for (m, (reference, structures)) in kept.enumerated() {
            try memory.insert(Exemplar(reference: reference, structures: structures, image: Array(images[(m * h * w)..<((m + 1) * h * w)]),
                                       mask: masks[m], softTargets: zip(soft, classes).map { v, c in Array(v[(m * c * h * w)..<((m + 1) * c * h * w)]) }))
        }
        return memory
    }
}
