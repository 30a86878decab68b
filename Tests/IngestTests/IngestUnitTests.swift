@testable import Ingest
import ArrayFiles
import DicomIO
import Foundation
import Support
import TestSupport
import Testing

@Suite struct HashingTests {
    /// FIPS 180-4 example vectors.
    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(SHA256.hash(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// RFC 4231 test case 2.
    @Test func hmacRFC4231() {
        let mac = SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(SHA256.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func saltChangesIdentifiers() {
        let a = SaltedHasher(salt: [1, 2, 3]), b = SaltedHasher(salt: [1, 2, 4])
        #expect(a.hash("PA-0001", kind: "patient") == a.hash("PA-0001", kind: "patient"))
        #expect(a.hash("PA-0001", kind: "patient") != b.hash("PA-0001", kind: "patient"))
        #expect(a.hash("PA-0001", kind: "patient") != a.hash("PA-0001", kind: "study"))
    }
}

@Suite struct GlobAndCSVTests {
    @Test(arguments: [
        ("*.csv", "labels.csv", true), ("*.csv", "a/b/labels.csv", true), ("*.csv", "labels.csv.bak", false),
        ("**", "a/b/c.dcm", true), ("a/**/x.dcm", "a/x.dcm", true), ("a/**/x.dcm", "a/b/c/x.dcm", true),
        ("a/*/x.dcm", "a/b/c/x.dcm", false), ("IM???", "D/SER1/IM001", true), (".*", "x/.DS_Store", true),
        ("DICOMDIR", "DICOMDIR", true), ("[!a]*.dcm", "b.dcm", true), ("[!a]*.dcm", "a.dcm", false),
    ] as [(String, String, Bool)])
    func globs(pattern: String, path: String, matches: Bool) throws {
        #expect(try Glob(pattern).matches(path) == matches)
    }

    @Test func csvQuotesAndLineEnds() {
        let text = "file,view\r\n\"a,b.dcm\",\"A \"\"4\"\" CH\"\nplain.dcm,AP2\n"
        #expect(CSVTable.parse(text) == [["file", "view"], ["a,b.dcm", "A \"4\" CH"], ["plain.dcm", "AP2"]])
        let rendered = CSVTable.render(header: ["a", "b"], rows: [["x,y", "q\"z"]])
        #expect(rendered == "a,b\n\"x,y\",\"q\"\"z\"\n")
        #expect(CSVTable.parse(rendered) == [["a", "b"], ["x,y", "q\"z"]])
    }
}

@Suite struct LabelMapTests {
    static func taxonomy() throws -> Taxonomy {
        try Taxonomy.load(from: TestPaths.converters.appendingPathComponent("taxonomy/echo-views.yaml"))
    }

    @Test func taxonomyIsTheSeedsGlobalOrder() throws {
        // Global 15-class order of the weighted-experts seed (methods.md section 1.2).
        #expect(try Self.taxonomy().orderedNames == ["contrast-A2C", "contrast-A3C", "contrast-A4C", "contrast-PLAX", "A2C", "A3C", "A4C",
                                                     "A5C", "PLAX", "PLAX-AV", "PSAX-AV", "PSAX-PM", "RV", "SC", "SC-IVC"])
    }

    @Test func normalisationAndManyToOne() throws {
        let map = try LabelMap(raw: ["AP4": "A4C", "4ch": "A4C", "Apical  4 Chamber ": "A4C", "doppler": "IGNORE"], taxonomy: Self.taxonomy())
        #expect(map.resolve("ap4") == .mapped(index: 6, name: "A4C"))
        #expect(map.resolve(" 4CH") == .mapped(index: 6, name: "A4C"))
        #expect(map.resolve("apical 4   chamber") == .mapped(index: 6, name: "A4C"))
        #expect(map.resolve("DOPPLER") == .ignored)
        #expect(map.resolve("AP 4") == .unmapped)
        #expect(map.targetClasses == ["A4C"])
    }

    @Test func oneToManyIsRejected() throws {
        #expect(throws: ConfigError.self) { try LabelMap(raw: ["AP4": "A4C", "ap4": "A2C"], taxonomy: Self.taxonomy()) }
    }

    @Test func unknownClassIsRejected() throws {
        #expect(throws: ConfigError.self) { try LabelMap(raw: ["AP4": "Apical4"], taxonomy: Self.taxonomy()) }
    }

    @Test func taxonomyIndicesMustBeConsecutive() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.yaml")
        try "name: t\nversion: '1'\nclasses:\n  - {index: 0, name: a}\n  - {index: 2, name: b}\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try Taxonomy.load(from: url) }
    }
}

@Suite struct ConverterConfigTests {
    func load(_ yaml: String) throws -> EchoConverterConfig {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return try ConfigLoader.load(EchoConverterConfig.self, from: url)
    }

    let minimal = "site: s\nlabel: {source: tag, tag: SeriesDescription}\nlabel_map: {AP4: A4C}\n"

    @Test func defaults() throws {
        let config = try load(minimal)
        #expect(config.dataset == "s" && config.geometry.size == [112, 112] && config.unmapped == .error)
        #expect(config.frames.mode == .even && config.output.layout == .files && config.split.method == .balanced)
        #expect(config.privacy.sourcePaths == .scrubbed)
    }

    @Test func unknownKeysAreErrors() throws {
        #expect { try load(minimal + "unmaped: skip\n") } throws: { "\($0)".contains("unmaped") }
        #expect { try load(minimal + "geometry: {sise: [64, 64]}\n") } throws: { "\($0)".contains("sise") }
    }

    @Test func readerLimitsAreConfigurable() throws {
        #expect(try load(minimal).limits == DicomLimits())
        let tight = try load(minimal + "limits: {max_frames: 100}\n").limits
        #expect(tight.maxFrames == 100 && tight.maxPixelsPerFrame == DicomLimits().maxPixelsPerFrame)
        #expect { try load(minimal + "limits: {max_frame: 100}\n") } throws: { "\($0)".contains("max_frame") }
    }

    @Test func badEnumListsTheChoices() throws {
        #expect { try load(minimal + "frames: {mode: evenly}\n") } throws: { "\($0)".contains("all, even, clips") }
    }

    @Test func splitFractionsMustSumToOne() throws {
        #expect(throws: ConfigError.self) { try load(minimal + "split: {train: 0.5, val: 0.1, test: 0.1}\n") }
    }

    @Test func everyShippedConverterLoads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: TestPaths.converters.path).filter { $0.hasSuffix(".yaml") }
        #expect(names.count >= 8)
        for name in names {
            let url = TestPaths.converters.appendingPathComponent(name)
            // MR converters (`medcil convert mr`) are the ones with a `pairing` section.
            if try String(contentsOf: url, encoding: .utf8).contains("\npairing:") {
                let config = try ConfigLoader.load(MRConverterConfig.self, from: url)
                let taxonomy = try Taxonomy.load(from: URL(fileURLWithPath: config.taxonomy, relativeTo: url.deletingLastPathComponent()))
                _ = try MRLabelMap(raw: config.labelMap, taxonomy: taxonomy)
                continue
            }
            let config = try ConfigLoader.load(EchoConverterConfig.self, from: url)
            let taxonomy = try Taxonomy.load(from: URL(fileURLWithPath: config.taxonomy, relativeTo: url.deletingLastPathComponent()))
            _ = try LabelMap(raw: config.labelMap, taxonomy: taxonomy)
        }
    }
}

@Suite struct SplitTests {
    static let patients: [SplitAssigner.Patient] = (0..<40).map { k in
        SplitAssigner.Patient(key: "patient:\(k)", classCounts: [k % 5: 1 + k % 3, 5 + k % 2: 1])
    }

    @Test(arguments: [SplitSpec.Method.balanced, .hash])
    func deterministicAndComplete(method: SplitSpec.Method) {
        var spec = SplitSpec()
        spec.method = method
        let a = SplitAssigner.assign(Self.patients, spec: spec)
        let b = SplitAssigner.assign(Self.patients.reversed(), spec: spec)
        #expect(a == b, "the order patients are seen in does not matter")
        #expect(Set(a.keys) == Set(Self.patients.map(\.key)))
        spec.seed = 11
        #expect(SplitAssigner.assign(Self.patients, spec: spec) != a, "another seed gives another split")
    }

    @Test func balancedHitsTheFractions() {
        var spec = SplitSpec()
        spec.train = 0.6; spec.val = 0.2; spec.test = 0.2
        let assignment = SplitAssigner.assign(Self.patients, spec: spec)
        let counts = Dictionary(grouping: assignment.values, by: { $0 }).mapValues(\.count)
        #expect(counts["train"] == 24 && counts["val"] == 8 && counts["test"] == 8)
    }

    /// 3 patients at 0.6/0.2/0.2: the greedy alone gives 2/1/0; no split may stay empty.
    @Test func fewPatientsStillFillEverySplit() {
        var spec = SplitSpec()
        spec.train = 0.6; spec.val = 0.2; spec.test = 0.2
        let patients = (0..<3).map { SplitAssigner.Patient(key: "p\($0)", classCounts: Dictionary(uniqueKeysWithValues: (4..<12).map { ($0, 1) })) }
        let assignment = SplitAssigner.assign(patients, spec: spec)
        #expect(Set(assignment.values) == ["train", "val", "test"])
    }

    @Test func hashIsStableWhenDataGrows() {
        var spec = SplitSpec()
        spec.method = .hash
        let before = SplitAssigner.assign(Array(Self.patients.prefix(20)), spec: spec)
        let after = SplitAssigner.assign(Self.patients, spec: spec)
        for (key, split) in before { #expect(after[key] == split) }
    }
}

@Suite struct FrameSamplingTests {
    @Test func modes() {
        var spec = FrameSpec()
        spec.mode = .even; spec.count = 4
        #expect(FrameSampler.samples(frameCount: 16, spec: spec) == [[2], [6], [10], [14]])
        #expect(FrameSampler.samples(frameCount: 2, spec: spec) == [[0], [1]])
        spec.count = 1
        #expect(FrameSampler.samples(frameCount: 9, spec: spec) == [[4]])
        spec.mode = .all
        #expect(FrameSampler.samples(frameCount: 3, spec: spec) == [[0], [1], [2]])
        spec.mode = .clips; spec.framesPerSample = 3; spec.stride = 2
        #expect(FrameSampler.samples(frameCount: 12, spec: spec) == [[0, 2, 4], [5, 7, 9]])
        #expect(FrameSampler.samples(frameCount: 4, spec: spec) == [])
        spec.framesPerSample = 2; spec.stride = 1; spec.maxClips = 2
        #expect(FrameSampler.samples(frameCount: 12, spec: spec) == [[2, 3], [8, 9]])
    }
}

@Suite struct PathPrivacyTests {
    @Test func scrubsSegmentsWithIdentifiers() {
        let privacy = PathPrivacy(mode: .scrubbed, hasher: SaltedHasher(salt: [9]))
        let path = privacy.render("DOE_JANE_19700101/20240315/IMG_0001.dcm", tokens: ["DOE", "JANE", "19700101", "20240315"])
        #expect(!path.contains("DOE") && !path.contains("JANE") && !path.contains("1970") && !path.contains("20240315"))
        #expect(path.hasSuffix("/IMG_0001.dcm"))
        #expect(privacy.render("A4C/cine.dcm", tokens: ["DOE"]) == "A4C/cine.dcm")
        let hashed = PathPrivacy(mode: .hashed, hasher: SaltedHasher(salt: [9])).render("x/y.dcm", tokens: [])
        #expect(hashed.hasPrefix("h-") && hashed.hasSuffix(".dcm") && !hashed.contains("x/"))
    }
}

@Suite struct ImageOperationTests {
    /// Antialiased bilinear resize with a box against Pillow's Image.resize: within one grey
    /// level (Pillow rounds its intermediate image to 8 bits, MedCIL keeps floats).
    @Test(arguments: [(97, 131, 112, 112, (3.0, 5.0, 120.0, 90.0)), (40, 30, 112, 112, (0.0, 0.0, 30.0, 40.0)),
                      (300, 400, 56, 64, (10.0, 20.0, 390.0, 280.0))] as [(Int, Int, Int, Int, (Double, Double, Double, Double))])
    func resizeMatchesPillow(height: Int, width: Int, outHeight: Int, outWidth: Int, box: (Double, Double, Double, Double)) throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 3)
        let image = (0..<(height * width)).map { k in UInt8((k % width * 2 + k / width + Int(generator.next() % 40)) % 256) }
        try NpyArray(image, shape: [height, width]).write(to: folder.appendingPathComponent("in.npy"))
        try runOracle("pillow_ops.py", ["resize", folder.appendingPathComponent("in.npy").path, "\(box.0)", "\(box.1)", "\(box.2)", "\(box.3)",
                                        "\(outWidth)", "\(outHeight)", folder.appendingPathComponent("out.npy").path])
        let expected = try NpyArray.read(from: folder.appendingPathComponent("out.npy")).values(as: UInt8.self)
        let plan = ResamplePlan(sourceWidth: width, sourceHeight: height, box: (box.0, box.1, box.2, box.3), outWidth: outWidth, outHeight: outHeight)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight)
        image.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { plan.apply(src, into: $0) } }
        let worst = zip(out, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 1)
    }

    /// RGB to grey equals Pillow's convert("L") exactly.
    @Test func greyMatchesPillow() throws {
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 5)
        let (h, w) = (17, 23)
        let rgb = (0..<(h * w * 3)).map { _ in UInt8(generator.next() % 256) }
        try NpyArray(rgb, shape: [h, w, 3]).write(to: folder.appendingPathComponent("rgb.npy"))
        try runOracle("pillow_ops.py", ["grey", folder.appendingPathComponent("rgb.npy").path, folder.appendingPathComponent("l.npy").path])
        let expected = try NpyArray.read(from: folder.appendingPathComponent("l.npy")).values(as: UInt8.self)
        let grey = Greyscale(columns: w, samples: 3, type: .uint8, bitsStored: 8)
        var out = [UInt8](repeating: 0, count: h * w)
        rgb.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { grey.grey(raw, box: PixelBox(x0: 0, y0: 0, x1: w - 1, y1: h - 1), into: $0) } }
        #expect(out == expected)
    }

    /// A fan of moving speckle with static text beside it and a thin moving line below:
    /// the detected sector covers the fan and nothing else.
    @Test func sectorFromMotion() {
        let (w, h) = (120, 100)
        var generator = SeededGenerator(seed: 1)
        func inFan(_ x: Int, _ y: Int) -> Bool {
            let dx = Double(x) - 60, dy = Double(y) - 5
            let r = (dx * dx + dy * dy).squareRoot()
            return r < 80 && r > 3 && abs(atan2(dx, dy)) < 0.6
        }
        let frames: [[UInt8]] = (0..<10).map { t in
            var frame = [UInt8](repeating: 0, count: w * h)
            for y in 0..<h { for x in 0..<w where inFan(x, y) { frame[y * w + x] = UInt8(40 + generator.next() % 120) } }
            for y in 2..<9 { for x in 2..<20 where (x + y) % 3 == 0 { frame[y * w + x] = 255 } }  // burned-in text
            frame[95 * w + (t * 11) % w] = 200                                                      // moving ECG cursor
            return frame
        }
        guard let result = SectorDetector.detect(frames: frames, width: w, height: h) else {
            Issue.record("no sector found")
            return
        }
        var inside = 0, outside = 0, fan = 0
        for y in 0..<h { for x in 0..<w {
            if inFan(x, y) { fan += 1; if result.mask[y * w + x] { inside += 1 } } else if result.mask[y * w + x] { outside += 1 }
        } }
        #expect(Double(inside) / Double(fan) > 0.97)
        #expect(Double(outside) / Double(fan) < 0.05)
        #expect(!result.mask[5 * w + 5] && !result.mask[95 * w + 50], "text and ECG are outside")
    }
}
