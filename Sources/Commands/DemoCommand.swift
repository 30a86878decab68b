import ArgumentParser
import Console
import Foundation
import Ingest
import Phantoms

/// `medcil demo`: the main job on the embedded default data.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pipeline on bundled phantom data: generate four hospital exports, convert them, report.",
        discussion: """
        Writes phantom echo exports of four sites (DICOM through DCMTK), converts each with its converter in \
        converters/, and prints per-site, per-class counts. Everything goes under --out.
        """
    )

    @Option(help: "Output folder.")
    var out: String = "medcil-demo"

    @Option(help: "Folder with the site converters.")
    var converters: String = "converters"

    @Option(help: "Phantom cines per view and site.")
    var perView: Int = 12

    @Option(help: "Seed for the phantom data.")
    var seed: UInt64 = 7

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard perView >= 3 else { throw ValidationError("--per-view must be at least 3 (train, val and test need a patient each)") }
        guard FileManager.default.fileExists(atPath: converters) else {
            throw ValidationError("converter folder '\(converters)' not found: run from the repository root or pass --converters")
        }
    }

    func run() throws {
        let root = URL(fileURLWithPath: out)
        let exports = root.appendingPathComponent("exports")
        let shards = root.appendingPathComponent("shards")
        let started = Date()
        print("== 1/2 phantom exports (\(perView) cines per view, seed \(seed)) -> \(exports.path)")
        for site in EchoPhantomSite.all {
            let summary = try EchoPhantomExporter.export(site: site, to: exports, perView: perView, seed: seed, faults: true,
                                                         workers: shared.workerCount, progress: shared.progress.mode)
            print("   site \(site.name): \(summary.files) cines + \(summary.faults.count) unusable files  (\(site.summary))")
        }
        print("\n== 2/2 conversion -> \(shards.path)")
        for site in EchoPhantomSite.all {
            let configURL = URL(fileURLWithPath: converters).appendingPathComponent("phantom-echo-\(site.name).yaml")
            let config = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
            let conversion = EchoConversion(config: config, configURL: configURL, inputRoot: exports.appendingPathComponent("site-\(site.name)"),
                                            outputRoot: shards, workers: shared.workerCount, progressMode: shared.progress.mode)
            let summary = try conversion.run()
            print(summary.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
            print("")
        }
        print(String(format: "demo finished in %.1f s; outputs in %@", Date().timeIntervalSince(started), root.path))
    }
}
