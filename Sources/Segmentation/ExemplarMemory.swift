import ArrayFiles
import Foundation

/// How AeiSeg / CoRiSeg choose and keep exemplars (Ozdemir et al. 2018: k_c = 50, k_r = 30,
/// T = 29; the memory bound is this project's, so that storage stays fixed as increments come).
public struct ExemplarSettings: Codable, Sendable, Equatable {
    /// The most slices the memory holds, all structures together.
    public var capacity: Int
    /// k_r, representatives chosen per structure by the set cover.
    public var representatives: Int
    /// k_c, most certain candidate slices per structure.
    public var candidates: Int
    /// T, MC-dropout passes.
    public var monteCarloPasses: Int

    public init(capacity: Int = 60, representatives: Int = 30, candidates: Int = 50, monteCarloPasses: Int = 29) {
        self.capacity = capacity
        self.representatives = representatives
        self.candidates = candidates
        self.monteCarloPasses = monteCarloPasses
    }

    enum CodingKeys: String, CodingKey {
        case capacity, representatives, candidates
        case monteCarloPasses = "monte_carlo_passes"
    }

    public func validated() throws -> ExemplarSettings {
        guard capacity >= 0, representatives >= 0, candidates >= representatives, monteCarloPasses >= 1 else {
            throw SegmentationError.invalid("exemplar settings need capacity >= 0, 0 <= representatives <= candidates and at least one MC pass; got \(self)")
        }
        return self
    }
}

/// A training slice, by its volume's hashed identifier (as in the MR shards, `<volume>_<slice>.npy`)
/// and its index in that volume. No patient data: the identifier is already a hash.
public struct SliceReference: Codable, Hashable, Sendable, Comparable {
    public var volume: String
    public var slice: Int

    public init(volume: String, slice: Int) {
        self.volume = volume
        self.slice = slice
    }

    public static func < (a: SliceReference, b: SliceReference) -> Bool { (a.volume, a.slice) < (b.volume, b.slice) }
}

/// One kept slice: image [channels, H, W], mask [H, W] (the labels it was trained with), and
/// per old head the frozen model's soft targets [classes, H, W].
public struct Exemplar: Sendable, Equatable {
    public var reference: SliceReference
    /// The structures whose selection chose this slice.
    public var structures: [String]
    public var image: [Float]
    public var mask: [Int]
    public var softTargets: [[Float]]

    public init(reference: SliceReference, structures: [String], image: [Float], mask: [Int], softTargets: [[Float]]) {
        self.reference = reference
        self.structures = structures
        self.image = image
        self.mask = mask
        self.softTargets = softTargets
    }
}

/// The exemplar memory: at most `capacity` slices, stored with the model as
/// `exemplars.safetensors` (images [M, C, H, W], masks [M, H, W] as int32, soft targets per old
/// head `soft_targets.{h}` [M, classes_h, H, W]) and listed in `exemplars.json` (which slices of
/// which volumes, chosen for which structures).
public struct ExemplarMemory: Sendable, Equatable {
    public let capacity: Int
    /// [channels, height, width] of every image.
    public let imageShape: [Int]
    /// Classes of each old head's soft targets.
    public let softTargetClasses: [Int]
    public private(set) var exemplars: [Exemplar] = []

    public init(capacity: Int, imageShape: [Int], softTargetClasses: [Int]) throws {
        guard capacity >= 0 else { throw SegmentationError.invalid("exemplar capacity \(capacity) is negative") }
        guard imageShape.count == 3, imageShape.allSatisfy({ $0 > 0 }) else {
            throw SegmentationError.invalid("exemplar images need a shape [channels, height, width], not \(imageShape)")
        }
        guard softTargetClasses.allSatisfy({ $0 > 0 }) else {
            throw SegmentationError.invalid("soft targets need at least one class per head, not \(softTargetClasses)")
        }
        self.capacity = capacity
        self.imageShape = imageShape
        self.softTargetClasses = softTargetClasses
    }

    public var count: Int { exemplars.count }
    public var isFull: Bool { exemplars.count >= capacity }
    public var references: [SliceReference] { exemplars.map(\.reference) }

    /// Adds an exemplar; refuses one when the memory is full, one already kept, or one whose
    /// arrays do not have the memory's shapes.
    public mutating func insert(_ exemplar: Exemplar) throws {
        guard !isFull else {
            throw SegmentationError.invalid("the exemplar memory is full (\(capacity) slices); \(exemplar.reference.volume) slice \(exemplar.reference.slice) is not kept")
        }
        guard !exemplars.contains(where: { $0.reference == exemplar.reference }) else {
            throw SegmentationError.invalid("\(exemplar.reference.volume) slice \(exemplar.reference.slice) is already an exemplar")
        }
        let pixels = imageShape[1] * imageShape[2]
        guard exemplar.image.count == imageShape.reduce(1, *), exemplar.mask.count == pixels,
              exemplar.softTargets.map(\.count) == softTargetClasses.map({ $0 * pixels }) else {
            throw SegmentationError.invalid("\(exemplar.reference.volume) slice \(exemplar.reference.slice): image, mask or soft targets do not match the memory's shapes \(imageShape), \(softTargetClasses) classes")
        }
        exemplars.append(exemplar)
    }

    /// Which slices to keep from per-structure selections (each in pick order, best first):
    /// rank 0 of every structure, then rank 1, and so on, each slice once (a slice picked for
    /// several structures is kept once and lists them all), until `capacity` slices. The set
    /// cover's order makes dropping the latest picks the least harmful way to fit the bound
    /// (Ozdemir et al. §2.2).
    public static func merge(selections: [(structure: String, picks: [SliceReference])], capacity: Int) -> [(SliceReference, [String])] {
        var order: [SliceReference] = []
        var chosenFor: [SliceReference: [String]] = [:]
        let depth = selections.map(\.picks.count).max() ?? 0
        for rank in 0..<depth {
            for (structure, picks) in selections where rank < picks.count {
                let reference = picks[rank]
                if chosenFor[reference] == nil {
                    guard order.count < capacity else { continue }
                    order.append(reference)
                }
                if !chosenFor[reference, default: []].contains(structure) { chosenFor[reference, default: []].append(structure) }
            }
        }
        return order.map { ($0, chosenFor[$0]!) }
    }

    /// The listing written next to the model.
    public struct Listing: Codable, Equatable, Sendable {
        public struct Entry: Codable, Equatable, Sendable {
            public var volume: String
            public var slice: Int
            public var structures: [String]
        }

        public var capacity: Int
        public var imageShape: [Int]
        public var softTargetClasses: [Int]
        public var exemplars: [Entry]

        enum CodingKeys: String, CodingKey {
            case capacity, exemplars
            case imageShape = "image_shape"
            case softTargetClasses = "soft_target_classes"
        }
    }

    public static let tensorsFile = "exemplars.safetensors"
    public static let listingFile = "exemplars.json"

    /// Writes both files into `folder` (each atomically; the arrays first, so a listing never
    /// names arrays that are not there).
    public func save(to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        let m = exemplars.count
        var tensors: [String: SafeTensors.Entry] = [
            "images": SafeTensors.Entry(exemplars.flatMap(\.image), shape: [m, c, h, w]),
            "masks": SafeTensors.Entry(dtype: .I32, shape: [m, h, w],
                                       data: exemplars.flatMap { $0.mask.map { Int32($0) } }.withUnsafeBytes { Data($0) }),
        ]
        for (head, classes) in softTargetClasses.enumerated() {
            tensors["soft_targets.\(head)"] = SafeTensors.Entry(exemplars.flatMap { $0.softTargets[head] }, shape: [m, classes, h, w])
        }
        try SafeTensors(tensors: tensors, metadata: ["format": "medcil-exemplars"]).write(to: folder.appendingPathComponent(Self.tensorsFile))
        let listing = Listing(capacity: capacity, imageShape: imageShape, softTargetClasses: softTargetClasses,
                              exemplars: exemplars.map { .init(volume: $0.reference.volume, slice: $0.reference.slice, structures: $0.structures) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(listing), to: folder.appendingPathComponent(Self.listingFile))
    }

    /// Reads what `save` wrote, checking the listing against the arrays and the bound.
    public static func load(from folder: URL) throws -> ExemplarMemory {
        let listingURL = folder.appendingPathComponent(listingFile), tensorsURL = folder.appendingPathComponent(tensorsFile)
        let listing: Listing
        do {
            listing = try JSONDecoder().decode(Listing.self, from: Data(contentsOf: listingURL))
        } catch {
            throw SegmentationError.invalid("\(listingURL.path): not an exemplar listing (\(error))")
        }
        var memory = try ExemplarMemory(capacity: listing.capacity, imageShape: listing.imageShape, softTargetClasses: listing.softTargetClasses)
        guard listing.exemplars.count <= listing.capacity else {
            throw SegmentationError.invalid("\(listingURL.path): \(listing.exemplars.count) exemplars exceed the capacity \(listing.capacity)")
        }
        let state = try SafeTensors.read(from: tensorsURL)
        let m = listing.exemplars.count
        let (c, h, w) = (listing.imageShape[0], listing.imageShape[1], listing.imageShape[2])
        func entry(_ key: String, _ shape: [Int]) throws -> SafeTensors.Entry {
            guard let e = state.tensors[key], e.shape == shape else {
                throw SegmentationError.invalid("\(tensorsURL.path): \(key) is missing or not of shape \(shape) as \(listingFile) says")
            }
            return e
        }
        let images = try entry("images", [m, c, h, w]).floats()
        let masksEntry = try entry("masks", [m, h, w])
        guard masksEntry.dtype == .I32 else { throw SegmentationError.invalid("\(tensorsURL.path): masks are \(masksEntry.dtype.rawValue), not I32") }
        let masks = masksEntry.data.withUnsafeBytes { $0.bindMemory(to: Int32.self).map(Int.init) }
        let soft = try listing.softTargetClasses.enumerated().map { try entry("soft_targets.\($0.offset)", [m, $0.element, h, w]).floats() }
        let (imageSize, pixels) = (c * h * w, h * w)
        for (i, e) in listing.exemplars.enumerated() {
            try memory.insert(Exemplar(
                reference: SliceReference(volume: e.volume, slice: e.slice), structures: e.structures,
                image: Array(images[(i * imageSize)..<((i + 1) * imageSize)]), mask: Array(masks[(i * pixels)..<((i + 1) * pixels)]),
                softTargets: zip(soft, listing.softTargetClasses).map { values, k in Array(values[(i * k * pixels)..<((i + 1) * k * pixels)]) }))
        }
        return memory
    }
}
