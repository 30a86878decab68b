import ArgumentParser
import ArrayFiles
import Console
import Foundation
import Ingest
import Phantoms
import Support

/// `medcil bench convert-mr`: MR conversion volumes/s against nibabel + numpy.
struct BenchConvertMR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-mr",
        abstract: "Volumes/s of read + reorient + normalise + slice (+ resize, pad, write), MedCIL vs nibabel+numpy, on the phantom MR sites.",
        discussion: """
        Writes the three phantom MR sites (no broken files) to a temporary folder, then for each site times the whole \
        conversion with its converter (converters/phantom-mr-<site>.yaml): MedCIL's `convert mr` on one thread and on \
        all cores (into a fresh output folder each run, so nothing is reused), and the Python peer \
        (python/peers/convert_mr_nibabel.py: nibabel as_closest_canonical, numpy percentile clip and z-score, \
        slicing, Pillow for the in-plane resize, np.save) in one process doing the same steps on the same volumes. \
        Each figure is the median of --repeats runs; the peer reports its own time from reading each volume to \
        writing its last slice (Python's start-up and imports are not counted). Afterwards the peer's slices are \
        compared with MedCIL's: the largest image difference and the count of differing mask pixels are printed.
        """
    )

    @Option(help: "Subjects per phantom site.")
    var subjects: Int = 6

    @Option(help: "Runs per measurement; the median is reported.")
    var repeats: Int = 3

    @Flag(help: "One run per measurement and 3 subjects per site (a few seconds).")
    var quick = false

    @Option(help: "Folder with the site converters.")
    var converters: String = "converters"

    @Option(help: "Python interpreter for the peer.")
    var python: String = "python3"

    @Option(help: "Folder for the phantom volumes and both sides' outputs (default: the system's temporary folder; a tmpfs such as /dev/shm takes the disk out of the measurement).")
    var scratch: String?

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard subjects >= 3 else { throw ValidationError("--subjects must be at least 3") }
        guard FileManager.default.fileExists(atPath: converters) else {
            throw ValidationError("converter folder '\(converters)' not found: run from the repository root or pass --converters")
        }
    }

    func run() throws {
        let runs = quick ? 1 : max(1, repeats)
        let subjectCount = quick ? 3 : subjects
        let cores = shared.workerCount
        let temporary = (scratch.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent("medcil-bench-mr-\(getpid())")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let exports = temporary.appendingPathComponent("exports")
        let peer = try PeerScript.path(named: "convert_mr_nibabel.py")
        print("medcil bench convert-mr: 3 phantom sites, \(subjectCount) subjects each, median of \(runs) run\(runs == 1 ? "" : "s"), \(cores) cores, outputs under \(temporary.deletingLastPathComponent().path)")
        print("pipeline: read NIfTI -> RAS+ -> labels to classes -> clip 0.5/99.5 % + z-score -> axial slices -> 2 mm in-plane -> pad 128x128 -> .npy\n")
        var table = TextTable(header: ["site", "volumes", "slices", "peer vol/s", "medcil 1 thr", "medcil \(cores) thr",
                                       "x peer (1 thr)", "x peer (\(cores) thr)", "max |image diff|", "mask diffs"],
                              rightAligned: Set(1...9))
        var totals = (volumes: 0, peer: 0.0, single: 0.0, multi: 0.0)
        for site in MRPhantomSite.all {
            _ = try MRPhantomExporter.export(site: site, to: exports, subjects: subjectCount, seed: 1, faults: false,
                                             workers: cores, progress: .off)
            let configURL = URL(fileURLWithPath: converters).appendingPathComponent("phantom-mr-\(site.name).yaml")
            var config = try ConfigLoader.load(MRConverterConfig.self, from: configURL)
            config.output.volumeIDs = .clear
            config.privacy.saltFile = temporary.appendingPathComponent("salt").path
            let input = exports.appendingPathComponent("site-\(site.name)")
            let medcilOut = temporary.appendingPathComponent("medcil-\(site.name)")
            // Each run starts from an empty output folder (removed outside the timing).
            func convert(workers: Int) throws -> MRConversion.Summary {
                try MRConversion(config: config, configURL: configURL, inputRoot: input, outputRoot: medcilOut,
                                 workers: workers, progressMode: .off).run()
            }
            let clear: () -> Void = { try? FileManager.default.removeItem(at: medcilOut) }
            let single = try median(runs, setup: clear) { _ = try convert(workers: 1) }
            let multi = try median(runs, setup: clear) { _ = try convert(workers: cores) }
            clear()
            let summary = try convert(workers: cores)

            // The same volumes, settings and names for the peer.
            let taxonomy = try Taxonomy.load(from: URL(fileURLWithPath: config.taxonomy, relativeTo: configURL.deletingLastPathComponent()).standardizedFileURL)
            let labelMap = try MRLabelMap(raw: config.labelMap, taxonomy: taxonomy)
            let pairing = try MRVolumePairing(files: try InputScanner.scan(root: input, spec: config.input), spec: config.pairing)
            let peerOut = temporary.appendingPathComponent("peer-\(site.name)")
            let conversion = MRConversion(config: config, configURL: configURL, inputRoot: input, outputRoot: medcilOut, workers: 1)
            let salt = try SaltedHasher(salt: SaltedHasher.loadOrCreateSalt(at: URL(fileURLWithPath: config.privacy.saltFile!)))
            let volumes: [[String: Any]] = pairing.pairs.map { pair in
                ["image": pair.image.url.path, "label": pair.label.url.path, "volume": conversion.volumeID(pair.key, hasher: salt),
                 "out": peerOut.path]
            }
            var settings: [String: Any] = [
                "label_map": Dictionary(uniqueKeysWithValues: labelMap.indexByValue.map { (String($0.key), Int($0.value)) }),
                "unlisted": config.unlistedValues.rawValue, "clip_percentiles": config.intensity.clipPercentiles,
                "normalization": config.intensity.normalization.rawValue, "slice_axis": config.geometry.sliceAxis.rawValue,
                "size": config.geometry.size, "fit": config.geometry.fit.rawValue,
            ]
            if let spacing = config.geometry.spacing { settings["spacing"] = spacing }
            let jobURL = temporary.appendingPathComponent("job-\(site.name).json")
            try JSONSerialization.data(withJSONObject: ["settings": settings, "volumes": volumes], options: [.sortedKeys]).write(to: jobURL)
            var peerTimes: [Double] = []
            var peerError: String?
            for _ in 0..<runs {
                try? FileManager.default.removeItem(at: peerOut)
                do { peerTimes.append(try PeerScript.run(python: python, script: peer, arguments: [jobURL.path]).reduce(0, +)) } catch {
                    peerError = "\(error)"
                }
            }
            let peerSeconds = peerTimes.isEmpty ? nil : peerTimes.sorted()[peerTimes.count / 2]
            let agreement = peerSeconds == nil ? nil : try compare(medcil: summary.datasetDirectory, peer: peerOut)
            let count = pairing.pairs.count
            let slices = summary.description.splits.values.reduce(0) { $0 + $1.slices }
            func rate(_ seconds: Double?) -> String { seconds.map { ProgressReporter.rate(Double(count) / $0) } ?? "n/a" }
            func ratio(_ a: Double?, _ b: Double?) -> String {
                guard let a, let b, a > 0 else { return "n/a" }
                return String(format: "%.2fx", b / a)
            }
            table.add([site.name, String(count), String(slices), rate(peerSeconds), rate(single), rate(multi),
                       ratio(single, peerSeconds), ratio(multi, peerSeconds),
                       agreement.map { String(format: "%.2g", $0.imageDifference) } ?? "n/a", agreement.map { String($0.maskDifferences) } ?? "n/a"])
            if let peerError { printError("peer failed on site \(site.name): \(peerError)") }
            if let peerSeconds {
                totals.volumes += count
                totals.peer += peerSeconds
                totals.single += single
                totals.multi += multi
            }
        }
        if totals.volumes > 0 {
            func rate(_ seconds: Double) -> String { ProgressReporter.rate(Double(totals.volumes) / seconds) }
            table.add(["all", String(totals.volumes), "", rate(totals.peer), rate(totals.single), rate(totals.multi),
                       String(format: "%.2fx", totals.peer / totals.single), String(format: "%.2fx", totals.peer / totals.multi), "", ""])
        }
        print(table.render())
        print("""

        x peer: MedCIL volumes/s over the peer's (one Python process: nibabel + numpy, Pillow for the resize). MedCIL's \
        time is the whole `convert mr` run (pairing, records, dataset.json, manifest and report included); the \
        peer's covers only its per-volume work. Image and mask differences compare every slice both wrote.
        """)
    }

    struct Agreement { var imageDifference: Double; var maskDifferences: Int }

    /// Largest |difference| over all image slices and count of differing mask pixels between
    /// MedCIL's outputs (in split folders) and the peer's (one folder).
    private func compare(medcil: URL, peer: URL) throws -> Agreement {
        var agreement = Agreement(imageDifference: 0, maskDifferences: 0)
        var compared = 0
        for split in ["train", "val", "test"] {
            let folder = medcil.appendingPathComponent(split)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names where name.hasSuffix(".npy") {
                let ours = try NpyArray.read(from: folder.appendingPathComponent(name))
                let theirs = try NpyArray.read(from: peer.appendingPathComponent(name))
                guard ours.shape == theirs.shape, ours.dtype == theirs.dtype else {
                    throw ValidationError("\(name): MedCIL wrote \(ours.shape) \(ours.dtype), the peer \(theirs.shape) \(theirs.dtype)")
                }
                if ours.dtype == .float32 {
                    for (a, b) in zip(ours.values(as: Float.self), theirs.values(as: Float.self)) {
                        agreement.imageDifference = max(agreement.imageDifference, Double(abs(a - b)))
                    }
                } else {
                    agreement.maskDifferences += zip(ours.data, theirs.data).filter { $0 != $1 }.count
                }
                compared += 1
            }
        }
        guard compared > 0 else { throw ValidationError("no slices to compare in \(medcil.path)") }
        return agreement
    }

    private func median(_ runs: Int, setup: () -> Void, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            setup()
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}
