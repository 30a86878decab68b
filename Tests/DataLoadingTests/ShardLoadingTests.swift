@testable import DataLoading
import ArrayFiles
import Foundation
import Ingest
import Phantoms
import Support
import TensorCore
import TestSupport
import Testing

/// Phantom site exports converted once for the loader tests: echo site a in both layouts
/// (64x64 to keep it small) and MR sites a (humerus) and b (scapula).
enum ConvertedPhantoms {
    static let root = TestPaths.temporaryDirectory("medcil-loader")

    static let echo: (files: URL, packed: URL) = {
        let raw = root.appendingPathComponent("echo-raw")
        let site = EchoPhantomSite.named("a")!
        _ = try! EchoPhantomExporter.export(site: site, to: raw, perView: 2, seed: 5, faults: false, workers: 2, progress: .off)
        func convert(_ layout: OutputSpec.Layout) -> URL {
            let url = TestPaths.converters.appendingPathComponent("phantom-echo-a.yaml")
            var config = try! ConfigLoader.load(EchoConverterConfig.self, from: url)
            config.geometry.size = [64, 64]
            config.output.layout = layout
            config.output.shardMegabytes = 0.05
            let out = root.appendingPathComponent("echo-\(layout.rawValue)")
            config.privacy.saltFile = root.appendingPathComponent("salt").path
            let summary = try! EchoConversion(config: config, configURL: url, inputRoot: raw.appendingPathComponent("site-a"),
                                              outputRoot: out, workers: 2, progressMode: .off).run()
            return summary.datasetDirectory
        }
        return (convert(.files), convert(.packed))
    }()

    static let mr: [String: URL] = {
        let raw = root.appendingPathComponent("mr-raw")
        var out: [String: URL] = [:]
        for name in ["a", "b"] {
            _ = try! MRPhantomExporter.export(site: MRPhantomSite.named(name)!, to: raw, subjects: 3, seed: 8, faults: false, workers: 2, progress: .off)
            let url = TestPaths.converters.appendingPathComponent("phantom-mr-\(name).yaml")
            var config = try! ConfigLoader.load(MRConverterConfig.self, from: url)
            config.privacy.saltFile = root.appendingPathComponent("salt").path
            out[name] = try! MRConversion(config: config, configURL: url, inputRoot: raw.appendingPathComponent("site-\(name)"),
                                          outputRoot: root.appendingPathComponent("mr"), workers: 2, progressMode: .off).run().datasetDirectory
        }
        return out
    }()
}

@Suite(.serialized) struct ShardLoadingTests {
    /// Both layouts hold the same samples: the same ids, labels and pixels (packed shards are
    /// read through memory maps, files one by one).
    @Test func filesAndPackedShardsAgree() throws {
        let (filesFolder, packedFolder) = ConvertedPhantoms.echo
        var nonEmpty = 0
        for split in ["train", "val", "test"] {
            let files = try ShardDataset(folder: filesFolder, split: split)
            let packed = try ShardDataset(folder: packedFolder, split: split)
            #expect(files.count == packed.count, "\(split): \(files.count) vs \(packed.count)")
            if files.count > 0 { nonEmpty += 1 }
            let byID = Dictionary(uniqueKeysWithValues: (0..<packed.count).map { (packed.sampleID(at: $0), $0) })
            for i in 0..<files.count {
                guard let j = byID[files.sampleID(at: i)] else {
                    Issue.record("\(split): \(files.sampleID(at: i)) missing from the packed layout")
                    continue
                }
                #expect(files.label(at: i) == packed.label(at: j))
                #expect(try files.pixels(at: i) == packed.pixels(at: j))
            }
        }
        #expect(nonEmpty >= 2)
        // Values are grey levels / 255, shaped [frames, H, W].
        let train = try ShardDataset(folder: filesFolder, split: "train")
        #expect(train.sampleShape == [1, 64, 64])
        let pixels = try train.pixels(at: 0)
        #expect(pixels.allSatisfy { (0...1).contains($0) } && pixels.contains { $0 > 0.2 })
    }

    /// In the site label space, labels are positions in the site's class list.
    @Test func siteLabelSpace() throws {
        let folder = ConvertedPhantoms.echo.files
        let canonical = try ShardDataset(folder: folder, split: "train")
        let site = try ShardDataset(folder: folder, split: "train", labelSpace: .site)
        let indices = canonical.description.siteClassIndices
        #expect(site.classCount == indices.count)
        #expect(site.labels == canonical.labels.map { indices.firstIndex(of: $0)! })
    }

    /// The loader normalises with dataset.json's mean and std and batches in a seeded order
    /// that does not depend on prefetching.
    @Test func loaderNormalisesAndIsDeterministic() throws {
        let dataset = try ShardDataset(folder: ConvertedPhantoms.echo.packed, split: "train")
        let (mean, std) = dataset.normalization
        #expect(abs(mean - Float(dataset.description.normalization.mean)) < 1e-6 && std > 0)
        func epoch(prefetch: Bool, seed: UInt64) throws -> [[Float]] {
            var out: [[Float]] = []
            let loader = DataLoader(source: dataset, batchSize: 5, shuffle: true, seed: seed, augmentation: .echoViews, prefetch: prefetch)
            try loader.forEachBatch(epoch: 1) { out.append($0.images.floats()) }
            return out
        }
        let a = try epoch(prefetch: true, seed: 3), b = try epoch(prefetch: false, seed: 3), c = try epoch(prefetch: true, seed: 4)
        #expect(a == b)
        #expect(a != c)
        // Without augmentation, batch values are exactly (x - mean) / std.
        let plain = DataLoader(source: dataset, batchSize: 4, shuffle: false)
        let batch = try plain.batch(0, epoch: 0, order: plain.order(epoch: 0))
        let expected = try dataset.pixels(at: 0).map { ($0 - mean) / std }
        #expect(zip(batch.images.floats().prefix(expected.count), expected).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}

@Suite(.serialized) struct SliceLoadingTests {
    /// Slices pair with their masks; site space maps the site's annotated class to 1, canonical
    /// space keeps the taxonomy index (humerus 1 at site a, scapula 2 at site b).
    @Test(arguments: [("a", 1), ("b", 2)])
    func slicesAndMasks(site: String, canonicalIndex: Int) throws {
        let folder = ConvertedPhantoms.mr[site]!
        let canonical = try SliceDataset(folder: folder, split: "train")
        let local = try SliceDataset(folder: folder, split: "train", labelSpace: .site)
        #expect(canonical.count > 0 && canonical.count == local.count)
        #expect(local.classNames == ["background", site == "a" ? "humerus" : "scapula"])
        #expect(canonical.sampleShape == [1, 128, 128])
        // The manifest lists the same slices for the split.
        let manifest = try String(contentsOf: folder.appendingPathComponent("manifest.csv"), encoding: .utf8)
        let rows = manifest.split(separator: "\n").dropFirst().filter { $0.split(separator: ",")[2] == "train" }
        #expect(rows.count == canonical.count)
        var foreground = 0
        for i in 0..<canonical.count {
            let c = try canonical.sample(at: i), l = try local.sample(at: i)
            #expect(Set(c.mask!).isSubset(of: [0, canonicalIndex]))
            #expect(l.mask! == c.mask!.map { $0 == canonicalIndex ? 1 : 0 })
            #expect(c.pixels == l.pixels && c.pixels.count == 128 * 128)
            foreground += c.mask!.filter { $0 != 0 }.count
        }
        #expect(foreground > 0)
        let containing = try local.slicesContaining(1)
        #expect(!containing.isEmpty && containing.allSatisfy { try! local.sample(at: $0).mask!.contains(1) })
    }

    /// Image and mask get the same geometry: with an image whose values are its mask's labels,
    /// every augmented pixel must still carry its mask's label (up to interpolation at edges).
    @Test func augmentationMovesImageAndMaskTogether() throws {
        let dataset = try SliceDataset(folder: ConvertedPhantoms.mr["a"]!, split: "train", labelSpace: .site)
        let index = try dataset.slicesContaining(1).first!
        let original = try dataset.sample(at: index)
        var sample = original
        sample.pixels = original.mask!.map { Float($0) * 10 }
        let augmentation = Augmentation(rotationDegrees: 25, horizontalFlip: 1, rescale: 0.7...1.3)
        augmentation.apply(&sample, shape: dataset.sampleShape, valueRange: nil, generator: RandomGenerator(seed: 12))
        let mask = sample.mask!
        #expect(mask != original.mask!, "the augmentation must move the mask")
        #expect(mask.contains(1))
        let agreeing = zip(sample.pixels, mask).filter { abs($0 - Float($1) * 10) < 5 }.count
        #expect(Double(agreeing) / Double(mask.count) > 0.99, "\(agreeing) of \(mask.count) pixels agree")
        // A z-scored slice is not clamped to 0...1 by brightness/contrast.
        var bright = original
        Augmentation(brightness: 0.1, contrast: 0.1).apply(&bright, shape: dataset.sampleShape, valueRange: dataset.valueRange,
                                                            generator: RandomGenerator(seed: 1))
        #expect(dataset.valueRange == nil && bright.pixels.contains { $0 > 1 || $0 < 0 })
    }

    /// Batches carry the masks flattened (B*H*W) in the sample order.
    @Test func batchesCarryMasks() throws {
        let dataset = try SliceDataset(folder: ConvertedPhantoms.mr["b"]!, split: "train", labelSpace: .site)
        let loader = DataLoader(source: dataset, batchSize: 3, shuffle: true, seed: 2, augmentation: .segmentation)
        var seen = 0
        try loader.forEachBatch(epoch: 0) { batch in
            #expect(batch.masks?.count == batch.indices.count * 128 * 128)
            #expect(batch.images.shape == [batch.indices.count, 1, 128, 128])
            seen += batch.indices.count
        }
        #expect(seen == dataset.count)
    }
}
