import ArgumentParser
import ArrayFiles
import Console
import DicomIO
import Foundation
import Ingest
import Phantoms
import Support

/// `medcil bench`: speed, measured side by side with the peer a user would pick.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that run MedCIL and its peer side by side in one invocation and print the ratio.",
        subcommands: [BenchConvert.self, BenchConvertMR.self, BenchTrain.self, BenchShards.self, BenchSynthesis.self]
    )
}

/// `medcil bench convert`: echo conversion frames/s against pydicom + numpy + Pillow.
struct BenchConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Frames/s of decode + grey + crop + mask + resize, MedCIL vs pydicom+numpy+Pillow, on real and phantom cines.",
        discussion: """
        For each input, times every frame through MedCIL's echo pipeline (one thread, and all cores), DCMTK's decode \
        alone (one thread), and the Python peer (python/peers/convert_pydicom.py: the same region crop, \
        sector mask, grey conversion and resize with pydicom, numpy, scipy and Pillow, repeated inside one warm \
        process after an untimed warm-up decode), each the median of --repeats runs after one untimed warm-up, and \
        prints the ratios and the largest difference between the two outputs. The default inputs are the 120-frame \
        480x640 JPEG Baseline echo cine of the pydicom-data wheel (when the test data is fetched, see \
        scripts/fetch-testdata.sh) and two phantom cines per view of each phantom site.
        """
    )

    @Option(parsing: .upToNextOption, help: "DICOM cines to measure (default: the pydicom-data echo cine, when present).")
    var file: [String] = []

    @Option(help: "Runs per measurement; the median is reported.")
    var repeats: Int = 3

    @Flag(help: "One run per measurement and no phantom cines (about half a minute).")
    var quick = false

    @Option(help: "Python interpreter for the peer.")
    var python: String = "python3"

    @OptionGroup var shared: SharedOptions

    func run() throws {
        // Each measured input is a group of files: one real cine, or a whole phantom site export.
        var groups: [(name: String, files: [URL])] = file.map { (URL(fileURLWithPath: $0).lastPathComponent, [URL(fileURLWithPath: $0)]) }
        if groups.isEmpty, let cine = TestData.echoCine() { groups.append((cine.lastPathComponent, [cine])) }
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("medcil-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        if !quick {
            for site in EchoPhantomSite.all {
                let summary = try EchoPhantomExporter.export(site: site, to: temporary, perView: 2, seed: 1, faults: false,
                                                             workers: shared.workerCount, progress: .off)
                let cines = try InputScanner.scan(root: summary.directory, spec: InputSpec()).filter { $0.excludedBecause == nil }
                groups.append(("phantom site \(site.name) (\(cines.count) cines)", cines.map(\.url)))
            }
        }
        guard !groups.isEmpty else {
            throw ValidationError("no inputs: pass --file, or fetch the test data (scripts/fetch-testdata.sh) for the real echo cine")
        }
        let runs = quick ? 1 : max(1, repeats)
        let cores = shared.workerCount
        let peer = try PeerScript.path(named: "convert_pydicom.py")
        print("medcil bench convert: \(groups.count) input\(groups.count == 1 ? "" : "s"), median of \(runs) run\(runs == 1 ? "" : "s"), \(cores) cores")
        print("pipeline: decode -> grey -> crop to region -> sector mask -> resize to 112x112, every frame\n")
        var table = TextTable(header: ["input", "syntax", "frames", "pydicom f/s", "medcil 1 thr", "medcil \(cores) thr",
                                       "dcmtk decode", "x pydicom (1 thr)", "x pydicom (\(cores) thr)", "vs decode alone", "max |diff|"],
                              rightAligned: Set(2...10))
        var allFrames = FrameSpec()
        allFrames.mode = .all
        let processor = EchoCineProcessor(geometry: GeometrySpec(), frames: allFrames)
        var peerFailures: [String] = []
        for group in groups {
            let paths = group.files.map(\.path)
            let syntax = try DicomFile(path: paths[0]).transferSyntax.name
            let frames = try paths.reduce(0) { $0 + (try FrameDecoder(file: DicomFile(path: $1)).frameCount) }
            // MedCIL's output, kept for the comparison; also its untimed warm-up.
            let ours = try paths.map { try processor.process(path: $0, innerWorkers: 1).samples }
            let single = try median(runs) { for path in paths { _ = try processor.process(path: path, innerWorkers: 1) } }
            let inner = max(1, cores / paths.count)
            let multi = try median(runs) {
                let results = parallelMap(paths.count, workers: cores) { k in Result { try processor.process(path: paths[k], innerWorkers: inner) } }
                for result in results { _ = try result.get() }
            }
            let decodeOnly = try median(runs) {
                for path in paths {
                    let decoder = try FrameDecoder(file: DicomFile(path: path))
                    var buffer = [UInt8](repeating: 0, count: decoder.outputFrameBytes)
                    for k in 0..<decoder.frameCount { try buffer.withUnsafeMutableBytes { try decoder.decode(frame: k, into: $0) } }
                }
            }
            // The peer repeats inside one process and reports the median of its own runs per
            // file, so Python's start-up, imports and first decode are not counted against it.
            var pydicom: Double?
            var difference = "n/a"
            let outputs = temporary.appendingPathComponent("peer-\(table.rows.count)")
            do {
                try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
                let seconds = try PeerScript.run(python: python, script: peer,
                                                 arguments: ["--repeats", String(runs), "--out", outputs.path] + paths)
                guard seconds.count == paths.count else {
                    throw ValidationError("the peer reported \(seconds.count) of \(paths.count) files")
                }
                pydicom = seconds.reduce(0, +)
                let largest = try (0..<paths.count).map { k in
                    try Self.largestDifference(ours[k], peer: outputs.appendingPathComponent("\(k).npy"), file: paths[k])
                }.max() ?? 0
                difference = String(largest)
            } catch {
                peerFailures.append("\(group.name): \(error)")
            }
            func fps(_ seconds: Double?) -> String { seconds.map { ProgressReporter.rate(Double(frames) / $0) } ?? "n/a" }
            func ratio(_ a: Double?, _ b: Double?) -> String {
                guard let a, let b, a > 0 else { return "n/a" }
                return String(format: "%.2fx", b / a)
            }
            table.add([group.name, String(syntax.prefix(28)), String(frames), fps(pydicom), fps(single), fps(multi),
                       fps(decodeOnly), ratio(single, pydicom), ratio(multi, pydicom), ratio(multi, decodeOnly), difference])
        }
        print(table.render())
        print("""

        x pydicom: MedCIL frames/s over the peer's (one Python process, one thread), for MedCIL on one thread and on all \
        cores. vs decode alone: MedCIL's whole pipeline on all cores over DCMTK's decode of the same frames on one thread \
        (1.00x = as fast as decoding alone). max |diff|: the largest grey-level difference between MedCIL's and the peer's \
        112x112 frames (lossy JPEG decoders and Pillow's fixed-point resize may differ by a few levels). A phantom site \
        is all its cines; MedCIL spreads files over cores, and the frames of a single cine when there are few files.
        """)
        for failure in peerFailures { print("peer failed on \(failure)") }
    }

    /// The largest absolute difference between MedCIL's samples of one file and the peer's
    /// [frames, 112, 112] uint8 output; throws when the shapes differ.
    static func largestDifference(_ ours: [[UInt8]], peer url: URL, file: String) throws -> Int {
        let theirs = try NpyArray.read(from: url)
        let size = GeometrySpec().size
        guard theirs.dtype == .uint8, theirs.shape == [ours.count] + size, ours.allSatisfy({ $0.count == size[0] * size[1] }) else {
            throw ValidationError("\(file): the peer's output is \(theirs.shape), MedCIL's \(ours.count) frames of \(size)")
        }
        let bytes = [UInt8](theirs.data)
        var largest = 0
        for (k, frame) in ours.enumerated() {
            let offset = k * frame.count
            for i in frame.indices { largest = max(largest, abs(Int(frame[i]) - Int(bytes[offset + i]))) }
        }
        return largest
    }

    private func median(_ runs: Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}

/// Where the test command puts the public files the test suite and benchmarks use.
enum TestData {
    /// Checkout root, found from the working directory (`.testdata` beside Package.swift).
    static var root: URL? {
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent(".testdata")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// pydicom-data's 120-frame 480x640 JPEG Baseline echo cine.
    static func echoCine() -> URL? {
        guard let root else { return nil }
        let url = root.appendingPathComponent("pydicom-data/data_store/data/color3d_jpeg_baseline.dcm")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
