import ArgumentParser
import Console
import Foundation
import Ingest
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
        Each site folder also holds what real exports hold: notes, unusable and broken files (unless --no-faults).
        Deterministic from --seed.
        """
    )

    @Option(help: "Output folder; sites go to <out>/site-<name>/.")
    var out: String

    @Option(parsing: .upToNextOption, help: "Sites to write, separated by spaces or commas (default: all of \(EchoPhantomSite.all.map(\.name).joined(separator: ", "))).")
    var sites: [String] = EchoPhantomSite.all.map(\.name)

    /// `--sites a b` and `--sites a,b` alike.
    var siteNames: [String] { splitNameList(sites) }

    @Option(help: "Cines per view (one patient per cine index).")
    var perView: Int = 12

    @Option(help: "Seed.")
    var seed: UInt64 = 7

    @Flag(inversion: .prefixedNo, help: "Include broken and unusable files (truncated, not DICOM, no pixel data, bad NumberOfFrames, JPEG 2000, unlabelled).")
    var faults = true

    @OptionGroup var shared: SharedOptions

    func validate() throws {
        guard perView >= 1 else { throw ValidationError("--per-view must be at least 1") }
        let unknown = siteNames.filter { EchoPhantomSite.named($0) == nil }
        if !unknown.isEmpty { throw ValidationError("unknown site(s) \(unknown.joined(separator: ", ")); sites are \(EchoPhantomSite.all.map(\.name).joined(separator: ", "))") }
    }

    func run() throws {
        for name in siteNames {
            let site = EchoPhantomSite.named(name)!
            let summary = try EchoPhantomExporter.export(site: site, to: URL(fileURLWithPath: out), perView: perView, seed: seed,
                                                         faults: faults, workers: shared.workerCount, progress: shared.progress.mode)
            print("site \(name): \(summary.files) cines in \(summary.directory.path) (\(site.summary))")
            print("  per view: " + site.views.map { "\($0.canonical) \(summary.perView[$0.canonical] ?? 0)" }.joined(separator: ", "))
            for fault in summary.faults { print("  extra file: \(fault)") }
        }
    }
}
