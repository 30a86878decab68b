import ArrayFiles
import Foundation
import Support
import NeuralNet
import TensorCore

/// `medcil seg evaluate` as a library: a model's labels on the test volumes of one or more
/// sites, reassembled into 3D, scored per volume and structure (Dice, ASSD, HD95 in mm from
/// each volume's voxel spacing), the old and the new structures told apart (new: those of the
/// model's last head), and forgetting = the old structure's Dice under the model before the
/// increment − its Dice after, per volume.
public enum SegmentationAssessment {
    public struct Row: Codable, Sendable, Equatable {
        public var site: String
        public var volume: String
        public var structure: String
        /// "old" or "new" (learnt by the last increment).
        public var role: String
        public var dice: Double
        public var assd: Double
        public var hd95: Double
        /// Dice before the increment − Dice after (nil without a pre-increment model, or when it
        /// did not segment the structure).
        public var forgetting: Double?
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var site: String
        public var structure: String
        public var role: String
        public var volumes: Int
        public var dice: Double
        /// Means over the volumes where both masks are non-empty; `undefined` counts the others.
        public var assd: Double
        public var hd95: Double
        public var undefined: Int
        public var forgetting: Double?
    }

    public struct Report: Codable, Sendable, Equatable {
        public var rows: [Row]
        public var summaries: [Summary]

        public func summary(structure: String) -> Summary? { summaries.first { $0.structure == structure } }
    }

    /// Scores `model` on every site of `data` (each a test split) for the structures that site
    /// annotates and the model segments.
    public static func evaluate(model: SegmentationModel, data: [SliceSet], before: SegmentationModel? = nil,
                                largestComponent: Bool = false) throws -> Report {
        let newStructures = model.description.heads.last?.structures ?? []
        var rows: [Row] = []
        for set in data {
            let images = set.tensor
            for (k, structure) in set.structures.enumerated() {
                guard let (network, head, label) = model.segmenter(of: structure) else { continue }
                let scores = try score(network: network, head: head, label: label, images: images, set: set, reference: k + 1,
                                       largestComponent: largestComponent)
                var previous: [String: StructureScores] = [:]
                if let before, let (n0, h0, l0) = before.segmenter(of: structure) {
                    previous = try score(network: n0, head: h0, label: l0, images: images, set: set, reference: k + 1,
                                         largestComponent: largestComponent)
                }
                for volume in scores.keys.sorted() {
                    let s = scores[volume]!
                    rows.append(Row(site: set.site, volume: volume, structure: structure,
                                    role: newStructures.contains(structure) ? "new" : "old", dice: s.dice, assd: s.assd, hd95: s.hd95,
                                    forgetting: previous[volume].map { SurfaceMetrics.forgetting(diceBefore: $0.dice, diceAfter: s.dice) }))
                }
            }
        }
        guard !rows.isEmpty else {
            throw SegmentationError.invalid("the model segments none of the structures the given sites annotate (\(data.flatMap(\.structures)))")
        }
        return Report(rows: rows, summaries: summaries(rows))
    }

    /// Per volume: the 3D scores of head `head`'s label `label` against mask label `reference`.
    static func score(network: UNet, head: Int, label: Int, images: Tensor, set: SliceSet, reference: Int,
                      largestComponent: Bool) throws -> [String: StructureScores] {
        let predicted = try HeadPrediction.labels(model: network, head: head, images: images)
        var p = SliceStacks(height: set.height, width: set.width), r = SliceStacks(height: set.height, width: set.width)
        for (i, ref) in set.references.enumerated() {
            try p.add(volume: ref.volume, index: ref.slice, labels: predicted[i].map { $0 == label ? 1 : 0 })
            try r.add(volume: ref.volume, index: ref.slice, labels: set.masks[i].map { $0 == reference ? 1 : 0 })
        }
        var out: [String: StructureScores] = [:]
        for volume in r.volumes {
            let spacing = set.spacing[volume]!
            var prediction = try p.mask(of: volume, label: 1, spacing: spacing)
            if largestComponent { prediction = LargestComponent.keep(prediction) }
            out[volume] = try SurfaceMetrics.scores(prediction: prediction, reference: try r.mask(of: volume, label: 1, spacing: spacing))
        }
        return out
    }

    static func summaries(_ rows: [Row]) -> [Summary] {
        var keys: [(String, String)] = []
        for row in rows where !keys.contains(where: { $0 == (row.site, row.structure) }) { keys.append((row.site, row.structure)) }
        return keys.map { site, structure in
            let group = rows.filter { $0.site == site && $0.structure == structure }
            let finite = group.filter { $0.assd.isFinite && $0.hd95.isFinite }
            func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
            let drops = group.compactMap(\.forgetting)
            return Summary(site: site, structure: structure, role: group[0].role, volumes: group.count, dice: mean(group.map(\.dice)),
                           assd: mean(finite.map(\.assd)), hd95: mean(finite.map(\.hd95)), undefined: group.count - finite.count,
                           forgetting: drops.count == group.count ? mean(drops) : nil)
        }
    }

    /// Writes `evaluation.csv` (one row per volume and structure) and `evaluation.json` (rows
    /// and summaries), atomically; infinite distances (an empty mask) are written as `inf`.
    public static func write(_ report: Report, to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : (x.isNaN ? "nan" : "inf") }
        var csv = "site,volume,structure,role,dice,assd_mm,hd95_mm,forgetting\n"
        for row in report.rows {
            csv += [row.site, row.volume, row.structure, row.role, number(row.dice), number(row.assd), number(row.hd95),
                    row.forgetting.map(number) ?? ""].joined(separator: ",") + "\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("evaluation.csv"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(report), to: folder.appendingPathComponent("evaluation.json"))
    }
}
