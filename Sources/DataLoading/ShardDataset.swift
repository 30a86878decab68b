import ArrayFiles
import Datasets
import Foundation

/// A converted echo dataset's `dataset.json` (written by `medcil convert echo`): the writer's
/// own type, so that the reader cannot drift from it.
public typealias ShardDescription = EchoDatasetDescription

extension EchoDatasetDescription {
    public static func load(from folder: URL) throws -> ShardDescription {
        let url = folder.appendingPathComponent("dataset.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DataError.invalid("\(folder.path) is not a converted dataset (no readable dataset.json): give the folder `medcil convert echo` wrote, <out>/<dataset>")
        }
        do {
            return try JSONDecoder().decode(ShardDescription.self, from: data)
        } catch {
            throw DataError.invalid("\(url.path): not a dataset description MedCIL can read (\(error))")
        }
    }

    /// Canonical indices of the site's classes, in index order: the site's local label space.
    public var siteClassIndices: [Int] { siteClasses.compactMap { classes[$0] }.sorted() }
}

public enum DataError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let why): return why }
    }
}

/// Which labels a dataset hands out: the canonical (global) indices, or positions in the
/// site's own class list (an expert's output space).
public enum LabelSpace: Sendable { case canonical, site }

/// One split of a converted classification dataset, in either layout (`<id>_<label>.npy`
/// files, or packed shards read through memory maps). Samples come out as float32 in 0...1
/// (`x / 255` for uint8 shards); `normalization` is the site's mean and std from
/// dataset.json, applied by the loader after augmentation (the seed work's per-site
/// normalisation).
public final class ShardDataset: SampleSource, @unchecked Sendable {
    public let folder: URL
    public let split: String
    public let description: ShardDescription
    public let labelSpace: LabelSpace
    /// Per sample: where it is, and its canonical label.
    private let entries: [(location: Location, label: Int)]
    /// Sample ids (file name stems, or the manifest's ids for packed shards).
    private let ids: [String]
    private let shards: [MappedNpy]
    private let sampleElements: Int

    enum Location {
        case file(URL)
        case shard(Int, Int)
    }

    public init(folder: URL, split: String, labelSpace: LabelSpace = .canonical) throws {
        self.folder = folder
        self.split = split
        self.labelSpace = labelSpace
        description = try ShardDescription.load(from: folder)
        sampleElements = description.image.framesPerSample * description.image.height * description.image.width
        let splitFolder = folder.appendingPathComponent(split)
        if description.image.layout == "packed" {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: splitFolder.path)) ?? [])
                .filter { $0.hasPrefix("shard-") && $0.hasSuffix(".npy") }.sorted()
            shards = try names.map { try MappedNpy(url: splitFolder.appendingPathComponent($0)) }
            let labelsURL = splitFolder.appendingPathComponent("labels.npy")
            let labels = FileManager.default.fileExists(atPath: labelsURL.path) ? try NpyArray.read(from: labelsURL).values(as: Int64.self) : []
            var entries: [(Location, Int)] = []
            for (s, shard) in shards.enumerated() {
                for i in 0..<(shard.header.shape.first ?? 0) { entries.append((.shard(s, i), Int(labels[entries.count]))) }
            }
            guard entries.count == labels.count else {
                throw DataError.invalid("\(splitFolder.path): \(labels.count) labels for \(entries.count) packed samples")
            }
            self.entries = entries
            // Manifest rows of this split are in shard order.
            let manifest = (try? String(contentsOf: folder.appendingPathComponent("manifest.csv"), encoding: .utf8)) ?? ""
            let rows = manifest.split(separator: "\n").dropFirst().map { $0.split(separator: ",", maxSplits: 2).map(String.init) }
            let splitIDs = rows.filter { $0.count > 1 && $0[1] == split }.map { $0[0] }
            ids = splitIDs.count == entries.count ? splitIDs : entries.indices.map { "\(split)-\($0)" }
        } else {
            shards = []
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: splitFolder.path)) ?? []).filter { $0.hasSuffix(".npy") }.sorted()
            ids = names.map { name in
                let stem = name.dropLast(4)
                return String(stem[..<(stem.lastIndex(of: "_") ?? stem.endIndex)])
            }
            entries = try names.map { name in
                let stem = name.dropLast(4)
                guard let underscore = stem.lastIndex(of: "_"), let label = Int(stem[stem.index(after: underscore)...]) else {
                    throw DataError.invalid("\(name): sample files are named <id>_<label>.npy")
                }
                return (.file(splitFolder.appendingPathComponent(name)), label)
            }
        }
        let localIndex = Dictionary(uniqueKeysWithValues: description.siteClassIndices.enumerated().map { ($1, $0) })
        for entry in entries where labelSpace == .site && localIndex[entry.label] == nil {
            throw DataError.invalid("label \(entry.label) is not among the site's classes \(description.siteClasses)")
        }
    }

    public var count: Int { entries.count }
    /// [channels (frames), height, width] of one sample.
    public var sampleShape: [Int] { [description.image.framesPerSample, description.image.height, description.image.width] }
    /// Number of classes of the label space.
    public var classCount: Int { labelSpace == .site ? description.siteClasses.count : description.classes.count }

    /// Labels of every sample, in the dataset's order.
    public var labels: [Int] { entries.indices.map { label(at: $0) } }

    /// The sample's id (as in manifest.csv).
    public func sampleID(at index: Int) -> String { ids[index] }

    public func label(at index: Int) -> Int {
        let canonical = entries[index].label
        guard labelSpace == .site else { return canonical }
        return description.siteClassIndices.firstIndex(of: canonical)!
    }

    public var normalization: (mean: Float, std: Float) {
        (Float(description.normalization.mean), Float(max(description.normalization.std, 1e-8)))
    }

    public func sample(at index: Int) throws -> Sample {
        Sample(pixels: try pixels(at: index), label: label(at: index), mask: nil)
    }

    /// The sample's values (float32, `sampleShape`, 0...1).
    public func pixels(at index: Int) throws -> [Float] {
        let raw: [Float]
        switch entries[index].location {
        case .file(let url):
            let array = try NpyArray.read(from: url)
            guard array.count == sampleElements else { throw DataError.invalid("\(url.lastPathComponent): \(array.shape) is not \(sampleShape)") }
            raw = array.dtype == .uint8 ? array.data.map { Float($0) / 255 } : array.floatValues()
        case .shard(let s, let i):
            let bytes = shards[s].item(i)
            if shards[s].header.dtype == .uint8 {
                raw = bytes.map { Float($0) / 255 }
            } else {
                raw = Array(bytes.bindMemory(to: Float.self))
            }
        }
        return raw
    }
}
