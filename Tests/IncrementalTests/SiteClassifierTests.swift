import DataLoading
import Foundation
@testable import Incremental
import Ingest
import Phantoms
import Support
import TestSupport
import Testing

/// The site classifier on the four phantom sites, converted at 32x32 with their own
/// converters: the sites differ in acquisition (probe frequency, dynamic range and grey map,
/// depth, sector angle, smoothing, frame rate), so a small CNN tells them apart on patients it
/// has not seen. Chance is 25 %.
@Suite(.serialized) struct SiteClassifierTests {
    static let root = TestPaths.temporaryDirectory("medcil-site-shift")

    static let sites: [URL] = EchoPhantomSite.all.map { PhantomShards.convert($0, perView: 6, seed: 5, size: 32, root: root) }

    @Test func tellsThePhantomSitesApart() throws {
        let result = try SiteClassifier.measure(datasets: Self.sites, settings: SiteClassifier.Settings(epochs: 6))
        print(result.text)
        #expect(result.sites.count == 4)
        #expect(result.testSamples.allSatisfy { $0 > 0 })
        #expect(result.confusion.joined().reduce(0, +) == result.testSamples.reduce(0, +))
        #expect(result.balancedAccuracy >= 0.75, "balanced held-out accuracy \(result.balancedAccuracy) (chance 0.25)")
        #expect(result.recall.allSatisfy { $0 >= 0.5 }, "per-site recall \(result.recall)")
    }

    /// The same site twice under two labels: identical images cannot be told apart, so every
    /// test image is right under exactly one of its two labels, 50 % whatever the network
    /// learnt. A classifier that used anything but the pixels (order, file names) would differ.
    @Test func identicalSitesAreAtChance() throws {
        let site = Self.sites[0]
        let result = try SiteClassifier.measure(datasets: [site, site], settings: SiteClassifier.Settings(epochs: 2))
        #expect(abs(result.accuracy - 0.5) <= 0.02, "accuracy \(result.accuracy)")
    }

    @Test func oneSiteIsAnError() {
        #expect(throws: IncrementalError.self) { try SiteClassifier.measure(datasets: [Self.sites[0]]) }
    }
}

/// Phantom exports of a site converted with the site's own converter (converters/) at a small
/// size, for the tests that train on phantom data.
enum PhantomShards {
    static func convert(_ site: EchoPhantomSite, perView: Int, seed: UInt64, size: Int, root: URL) -> URL {
        let raw = root.appendingPathComponent("raw")
        _ = try! EchoPhantomExporter.export(site: site, to: raw, perView: perView, seed: seed, faults: false, workers: 2, progress: .off)
        let url = TestPaths.converters.appendingPathComponent("phantom-echo-\(site.name).yaml")
        var config = try! ConfigLoader.load(EchoConverterConfig.self, from: url)
        config.geometry.size = [size, size]
        config.privacy.saltFile = root.appendingPathComponent("salt").path
        return try! EchoConversion(config: config, configURL: url, inputRoot: raw.appendingPathComponent("site-\(site.name)"),
                                   outputRoot: root.appendingPathComponent("shards"), workers: 2, progressMode: .off).run().datasetDirectory
    }
}
