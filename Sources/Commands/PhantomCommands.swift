import ArgumentParser
import Console
import Foundation
import Phantoms

/// `medcil phantom`: synthetic hospital exports.
struct Phantom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write synthetic hospital exports (the embedded default data) as real DICOM files.",
        subcommands: [PhantomEcho.self, PhantomMR.self]
    )
}

/// `medcil phantom echo --out DIR`
struct PhantomEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Echo cines of four phantom sites, each exported the way a different hospital does it.",
        discussion: """
        Sites (converters in converters/phantom-echo-<site>.yaml):
        \(EchoPhantomSite.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n"))
        Each site folder also holds what real exports hold: notes, unusable and broken files (unless --no-faults): \
        truncated, not DICOM, no pixel data, bad NumberOfFrames, JPEG 2000, unlabelled.
        Deterministic from --seed.
        """
    )

    @OptionGroup var options: PhantomOptions

    @Option(help: "Cines per view (one patient per cine index).")
    var perView: Int = 12

    func validate() throws {
        guard perView >= 1 else { throw ValidationError("--per-view must be at least 1") }
        _ = try options.siteNames(all: EchoPhantomSite.all.map(\.name))
    }

    func run() throws {
        try options.write(sites: EchoPhantomSite.all.map(\.name)) { name, out in
            let site = EchoPhantomSite.named(name)!
            let summary = try EchoPhantomExporter.export(site: site, to: out, perView: perView, seed: options.seed, faults: options.faults,
                                                         workers: options.shared.workerCount, progress: options.shared.progress.mode)
            return ["site \(name): \(summary.files) cines in \(summary.directory.path) (\(site.summary))",
                    "  per view: " + site.views.map { "\($0.canonical) \(summary.perView[$0.canonical] ?? 0)" }.joined(separator: ", ")]
                + summary.faults.map { "  extra file: \($0)" }
        }
    }
}

/// Options both `phantom` subcommands share.
struct PhantomOptions: ParsableArguments {
    @Option(help: "Output folder; sites go to <out>/site-<name>/.")
    var out: String

    @Option(parsing: .upToNextOption, help: "Sites to write, separated by spaces or commas (default: all; the discussion above lists them).")
    var sites: [String] = []

    @Option(help: "Seed.")
    var seed: UInt64 = 7

    @Flag(inversion: .prefixedNo, help: "Include the broken and unusable files real exports hold (the discussion above lists them).")
    var faults = true

    @OptionGroup var shared: SharedOptions

    /// Writes each site asked for with `export` (site name, output folder -> lines to print).
    func write(sites all: [String], _ export: (String, URL) throws -> [String]) throws {
        let started = Date()
        for name in try siteNames(all: all) {
            for line in try export(name, URL(fileURLWithPath: out)) { print(line) }
        }
        print(String(format: "done in %.1f s", Date().timeIntervalSince(started)))
    }

    /// The sites asked for (`--sites a b` and `--sites a,b` alike; none given: all), or a
    /// validation error naming the unknown ones.
    func siteNames(all: [String]) throws -> [String] {
        let names = splitNameList(sites)
        let unknown = names.filter { !all.contains($0) }
        if !unknown.isEmpty { throw ValidationError("unknown site(s) \(unknown.joined(separator: ", ")); sites are \(all.joined(separator: ", "))") }
        return names.isEmpty ? all : names
    }
}
