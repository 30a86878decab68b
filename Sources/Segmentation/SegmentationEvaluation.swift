/// Per-volume, per-structure scores of predicted label volumes against reference ones, and
/// their summaries: what `seg evaluate` reports and the paper's Table 1 lists (Dice and ASSD
/// for the old and the new structure, forgetting as the old structure's Dice drop).
public enum SegmentationEvaluation {
    /// A structure: its name and its label value in the label maps.
    public struct Structure: Codable, Sendable, Equatable {
        public var name: String
        public var label: Int

        public init(name: String, label: Int) {
            self.name = name
            self.label = label
        }
    }

    public struct VolumeScore: Codable, Sendable, Equatable {
        public var volume: String
        public var structure: String
        public var scores: StructureScores
    }

    /// Scores of every volume of `reference` (each must also be complete in `predicted`) for
    /// every structure, with each volume's voxel spacing [slice, row, column] in mm.
    public static func evaluate(predicted: SliceStacks, reference: SliceStacks, structures: [Structure],
                                spacing: [String: [Double]]) throws -> [VolumeScore] {
        guard predicted.height == reference.height, predicted.width == reference.width else {
            throw SegmentationError.invalid("predicted slices are \(predicted.height)x\(predicted.width), reference slices \(reference.height)x\(reference.width)")
        }
        var out: [VolumeScore] = []
        for volume in reference.volumes {
            guard let voxelSpacing = spacing[volume] else { throw SegmentationError.invalid("no voxel spacing for volume \(volume)") }
            guard predicted.volumes.contains(volume) else { throw SegmentationError.invalid("volume \(volume) has no predicted slices") }
            for structure in structures {
                let p = try predicted.mask(of: volume, label: structure.label, spacing: voxelSpacing)
                let r = try reference.mask(of: volume, label: structure.label, spacing: voxelSpacing)
                out.append(VolumeScore(volume: volume, structure: structure.name, scores: try SurfaceMetrics.scores(prediction: p, reference: r)))
            }
        }
        return out
    }

    /// Means over volumes of one structure. ASSD and HD95 average the finite values only;
    /// `undefinedDistances` counts the volumes left out (one of the two masks empty), so a table
    /// can say so instead of printing a mean that hides them.
    public struct Summary: Codable, Sendable, Equatable {
        public var structure: String
        public var volumes: Int
        public var dice: Double
        public var assd: Double
        public var hd95: Double
        public var undefinedDistances: Int

        enum CodingKeys: String, CodingKey {
            case structure, volumes, dice, assd, hd95
            case undefinedDistances = "undefined_distances"
        }
    }

    public static func summary(_ scores: [VolumeScore], structure: String) throws -> Summary {
        let rows = scores.filter { $0.structure == structure }.map(\.scores)
        guard !rows.isEmpty else { throw SegmentationError.invalid("no scores for structure \(structure)") }
        let finite = rows.filter(\.isFinite)
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        return Summary(structure: structure, volumes: rows.count, dice: mean(rows.map(\.dice)), assd: mean(finite.map(\.assd)),
                       hd95: mean(finite.map(\.hd95)), undefinedDistances: rows.count - finite.count)
    }

    /// Forgetting of `structure`: per volume, its Dice under the model before the increment
    /// minus its Dice after, and the mean over volumes (the same volumes must be scored by both).
    public static func forgetting(before: [VolumeScore], after: [VolumeScore], structure: String) throws -> (perVolume: [String: Double], mean: Double) {
        let old = Dictionary(before.filter { $0.structure == structure }.map { ($0.volume, $0.scores.dice) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(after.filter { $0.structure == structure }.map { ($0.volume, $0.scores.dice) }, uniquingKeysWith: { a, _ in a })
        guard !old.isEmpty, Set(old.keys) == Set(new.keys) else {
            throw SegmentationError.invalid("forgetting of \(structure) needs the same volumes scored before (\(old.count)) and after (\(new.count)) the increment")
        }
        var drops: [String: Double] = [:]
        for (volume, dice) in old { drops[volume] = SurfaceMetrics.forgetting(diceBefore: dice, diceAfter: new[volume]!) }
        return (drops, drops.keys.sorted().map { drops[$0]! }.reduce(0, +) / Double(drops.count))
    }
}
