@testable import Ingest
import ArrayFiles
import Foundation
import Support
import TestSupport
import Testing

@Suite struct MRConfigTests {
    static func load(_ yaml: String) throws -> MRConverterConfig {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.yaml")
        try Data(yaml.utf8).write(to: url)
        return try ConfigLoader.load(MRConverterConfig.self, from: url)
    }

    static let minimal = """
    site: s
    pairing:
      image: '^img/(?<volume>.+)\\.nii\\.gz$'
      label: '^lab/(?<volume>.+)\\.nii\\.gz$'
    label_map:
      1: humerus
    """

    @Test(arguments: ["a", "b", "c"])
    func phantomConvertersLoad(site: String) throws {
        let (config, url) = try MRPhantomFixture.config(site)
        #expect(config.site == "phantom-mr-\(site)")
        let taxonomy = try Taxonomy.load(from: url.deletingLastPathComponent().appendingPathComponent(config.taxonomy))
        #expect(taxonomy.orderedNames == ["background", "humerus", "scapula", "clavicle"])
        _ = try MRLabelMap(raw: config.labelMap, taxonomy: taxonomy)
    }

    @Test func defaults() throws {
        let config = try Self.load(Self.minimal)
        #expect(config.dataset == "s" && config.geometry.size == [128, 128] && config.geometry.sliceAxis == .axial)
        #expect(config.geometry.fit == .pad && config.geometry.spacing == nil)
        #expect(config.intensity.clipPercentiles == [0.5, 99.5] && config.intensity.normalization == .zscore)
        #expect(config.unlistedValues == .error && config.output.volumeIDs == .hashed && config.pairing.affineTolerance == 1e-3)
        #expect(config.taxonomy == "taxonomy/shoulder-anatomy.yaml")
    }

    @Test(arguments: [
        (minimal + "\ngeometry:\n  slice_axes: axial\n", "unknown key 'slice_axes' in geometry"),
        (minimal + "\nintensity:\n  normalization: zscores\n", "'zscores' is not one of zscore, minmax"),
        (minimal + "\nintensity:\n  clip_percentiles: [99, 1]\n", "0 <= low < high <= 100"),
        (minimal + "\ngeometry:\n  spacing: [1]\n", "geometry.spacing must be [height, width]"),
        (minimal + "\nlabels: {}\n", "unknown key 'labels'"),
        (minimal.replacingOccurrences(of: "(?<volume>.+)\\.nii\\.gz$'\n  label", with: "(.+)\\.nii\\.gz$'\n  label"), "needs a named group (?<volume>...)"),
        (minimal.replacingOccurrences(of: "'^img/", with: "'^img/[") , "is not a valid regular expression"),
    ] as [(String, String)])
    func configErrorsAreClear(yaml: String, message: String) {
        do {
            _ = try Self.load(yaml)
            Issue.record("no error for \(message)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func labelMapErrors() throws {
        let taxonomy = try Taxonomy.load(from: TestPaths.converters.appendingPathComponent("taxonomy/shoulder-anatomy.yaml"))
        let cases: [([String: String], String)] = [
            (["1": "femur"], "'femur' is not a class of taxonomy shoulder-anatomy"),
            (["0": "humerus"], "0 is background in every label volume"),
            (["one": "humerus"], "'one' is not an integer label value"),
            (["1": "IGNORE"], "the site annotates nothing"),
        ]
        for (raw, message) in cases {
            #expect(throws: ConfigError.self) { try MRLabelMap(raw: raw, taxonomy: taxonomy) }
            do { _ = try MRLabelMap(raw: raw, taxonomy: taxonomy) } catch { #expect("\(error)".contains(message), "\(error)") }
        }
        let echo = try Taxonomy.load(from: TestPaths.converters.appendingPathComponent("taxonomy/echo-views.yaml"))
        do { _ = try MRLabelMap(raw: ["1": "A4C"], taxonomy: echo); Issue.record("echo taxonomy accepted") } catch {
            #expect("\(error)".contains("class 0 must be 'background'"))
        }
    }

    @Test func labelMapApply() throws {
        let taxonomy = try Taxonomy.load(from: TestPaths.converters.appendingPathComponent("taxonomy/shoulder-anatomy.yaml"))
        let map = try MRLabelMap(raw: ["2": "scapula", "7": "scapula", "5": "IGNORE", "300": "humerus", "9": "background"], taxonomy: taxonomy)
        #expect(map.annotatedClasses == ["humerus", "scapula"] && map.notAnnotatedClasses == ["clavicle"])
        let (mask, unlisted) = map.apply([0, 2, 7, 5, 300, 9, 4, -1, 4])
        #expect(mask == [0, 2, 2, 0, 1, 0, 0, 0, 0])
        #expect(unlisted == [4: 2, -1: 1])
    }
}

@Suite struct MRPairingTests {
    static func file(_ path: String, excluded: String? = nil) -> InputFile {
        InputFile(relativePath: path, url: URL(fileURLWithPath: "/x/" + path), size: 1, modified: 0, excludedBecause: excluded)
    }

    @Test func pairsUnpairedAndDuplicates() throws {
        var spec = MRPairingSpec(image: "^img/(?<volume>[^/]+?)(_dup)?\\.nii\\.gz$", label: "^lab/(?<volume>[^/]+)\\.nii\\.gz$",
                                 subject: "^img/(?<subject>s[0-9]+)-")
        let files = [Self.file("img/s1-a.nii.gz"), Self.file("lab/s1-a.nii.gz"), Self.file("img/s2-b.nii.gz"),
                     Self.file("lab/s9-z.nii.gz"), Self.file("img/s3-c.nii.gz"), Self.file("img/s3-c_dup.nii.gz"),
                     Self.file("lab/s3-c.nii.gz"), Self.file("notes.txt", excluded: "excluded by input.exclude '*.txt'"),
                     Self.file("other/x.nii.gz"), Self.file("img/q-d.nii.gz"), Self.file("lab/q-d.nii.gz")]
        let pairing = try MRVolumePairing(files: files, spec: spec)
        #expect(pairing.pairs.map(\.key) == ["s1-a"])
        #expect(pairing.pairs.first?.subject == "s1")
        #expect(pairing.unpaired[2] == .unpaired("no label volume matches pairing.label for volume 's2-b'"))
        #expect(pairing.unpaired[3] == .unpaired("no image volume matches pairing.image for volume 's9-z'"))
        for index in [4, 5, 6] {
            guard case .failed(let why)? = pairing.unpaired[index] else { Issue.record("\(index) not failed"); continue }
            #expect(why.contains("volume key 's3-c' is claimed by 3 files"))
        }
        #expect(pairing.unpaired[7] == .excluded("excluded by input.exclude '*.txt'"))
        #expect(pairing.unpaired[8] == .excluded("matches neither pairing.image nor pairing.label"))
        guard case .failed(let why)? = pairing.unpaired[9] else { Issue.record("no subject: not failed"); return }
        #expect(why.contains("pairing.subject does not match"))
        spec.subject = nil
        #expect(try MRVolumePairing(files: files, spec: spec).pairs.map(\.key) == ["q-d", "s1-a"])
    }
}

@Suite struct IntensityTests {
    /// numpy.percentile (linear) on arrays with ties, odd and even sizes, negative values.
    @Test func percentilesMatchNumpy() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 3)
        let quantiles = [0, 0.5, 1, 2.5, 37.3, 50, 99.5, 100]
        for count in [1, 2, 3, 10, 1001, 50_000] {
            let values = (0..<count).map { _ in Float(Int(generator.nextUnit() * 200) - 50) * (count > 500 ? 0.37 : 1) }
            let url = folder.appendingPathComponent("v\(count).npy")
            try NpyArray(values, shape: [count]).write(to: url)
            let expected = try runOracle("numpy_percentile.py", [url.path] + quantiles.map { "\($0)" })
                .split(separator: "\n").map { Double($0)! }
            for (k, q) in quantiles.enumerated() {
                let (low, _) = IntensityNormalization.percentiles(values, q, 100)
                #expect(abs(low - expected[k]) <= 1e-9 * max(1, abs(expected[k])), "n \(count) q \(q): \(low) vs \(expected[k])")
            }
            let (a, b) = IntensityNormalization.percentiles(values, 0.5, 99.5)
            #expect(abs(a - expected[1]) <= 1e-9 * max(1, abs(a)) && abs(b - expected[6]) <= 1e-9 * max(1, abs(b)))
        }
    }

    @Test func zscoreAndMinmax() throws {
        var spec = MRIntensitySpec()
        spec.clipPercentiles = [0, 100]
        let values: [Float] = [1, 2, 3, 4, 100]
        let z = try IntensityNormalization(values: values, spec: spec)
        #expect(z.low == 1 && z.high == 100 && abs(z.mean - 22) < 1e-12)
        var normalized = values
        z.apply(&normalized)
        let mean = normalized.reduce(0, +) / 5
        #expect(abs(mean) < 1e-6)
        spec.normalization = .minmax
        spec.clipPercentiles = [0, 75]
        let m = try IntensityNormalization(values: values, spec: spec)
        #expect(m.high == 4 && m.apply(100) == 1 && m.apply(1) == 0 && m.floor == 0)
        #expect(throws: IntensityNormalization.Failure.self) { try IntensityNormalization(values: [5, 5, 5], spec: spec) }
    }
}

@Suite struct SliceResamplerTests {
    /// Linear resampling equals Pillow's BILINEAR on float images (antialiased when
    /// shrinking), nearest equals Pillow's NEAREST, up and down.
    @Test(arguments: [(37, 23, 19, 50), (40, 40, 97, 61), (64, 48, 64, 31), (5, 9, 12, 3)])
    func resizeMatchesPillow(h: Int, w: Int, oh: Int, ow: Int) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: UInt64(h * w))
        let plane = (0..<(h * w)).map { _ in Float(generator.nextUnit() * 4 - 1) }
        let mask = (0..<(h * w)).map { _ in UInt8(generator.nextInt(below: 4)) }
        try NpyArray(plane, shape: [h, w]).write(to: folder.appendingPathComponent("p.npy"))
        try NpyArray(mask, shape: [h, w]).write(to: folder.appendingPathComponent("m.npy"))
        try runOracle("pillow_float_resize.py", [folder.appendingPathComponent("p.npy").path, "\(oh)", "\(ow)", folder.appendingPathComponent("pr.npy").path])
        try runOracle("pillow_float_resize.py", [folder.appendingPathComponent("m.npy").path, "\(oh)", "\(ow)", folder.appendingPathComponent("mr.npy").path, "--nearest"])
        let resampler = SliceResampler(sourceSize: (h, w), spacing: (1, 1), targetSpacing: nil, outputSize: (oh, ow), fit: .resize)
        let expected = try NpyArray.read(from: folder.appendingPathComponent("pr.npy")).values(as: Float.self)
        let ours = resampler.image(plane, padValue: 0)
        #expect(zip(ours, expected).map { abs($0 - $1) }.max()! < 1e-5)
        #expect(resampler.mask(mask) == Array(try NpyArray.read(from: folder.appendingPathComponent("mr.npy")).data))
    }

    @Test func targetSpacingThenPad() {
        // 10 x 6 pixels of 3 x 2 mm to 1.5 mm: 20 x 8, padded into 24 x 12 (2 above, 2 left).
        let resampler = SliceResampler(sourceSize: (10, 6), spacing: (3, 2), targetSpacing: [1.5, 1.5], outputSize: (24, 12), fit: .pad)
        #expect(resampler.resampledSize == (20, 8))
        #expect(resampler.outputSpacing(sourceSpacing: (3, 2)) == [1.5, 1.5])
        let mask = resampler.mask([UInt8](repeating: 1, count: 60))
        #expect(mask.count == 288 && mask.filter { $0 == 1 }.count == 160)
        #expect(mask[2 * 12 + 2] == 1 && mask[1 * 12 + 2] == 0 && mask[2 * 12 + 1] == 0 && mask[21 * 12 + 9] == 1 && mask[22 * 12 + 9] == 0)
        let image = resampler.image([Float](repeating: 5, count: 60), padValue: -1)
        #expect(image[0] == -1 && abs(image[2 * 12 + 2] - 5) < 1e-6)
    }

    @Test func centredCropAndPad() {
        // 5 x 5 into 3 x 3: rows and columns 1...3; into 8 x 8: 1 above/left, 2 below/right.
        let plane = (0..<25).map { UInt8($0) }
        #expect(SliceResampler.padOrCrop(plane, size: (5, 5), to: (3, 3), fill: 255) == [6, 7, 8, 11, 12, 13, 16, 17, 18])
        let padded = SliceResampler.padOrCrop(plane, size: (5, 5), to: (8, 8), fill: 255)
        #expect(padded[1 * 8 + 1] == 0 && padded[5 * 8 + 5] == 24 && padded[0] == 255 && padded[6 * 8 + 6] == 255)
        // 4 x 4 into 3 x 3: the odd excess row/column is cut at the end.
        #expect(SliceResampler.padOrCrop((0..<16).map { UInt8($0) }, size: (4, 4), to: (3, 3), fill: 0) == [0, 1, 2, 4, 5, 6, 8, 9, 10])
    }
}
