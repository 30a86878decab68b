import ArgumentParser
import Console
import Foundation
import Phantoms

/// `medcil phantom mr --out DIR [--seed S]`
struct PhantomMR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mr",
        abstract: "Shoulder MR volumes and label volumes (NIfTI) of three phantom sites, each stored the way a different study does it.",
        discussion: """
        Sites (converters in converters/phantom-mr-<site>.yaml):
        \(MRPhantomSite.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n"))
        Each volume holds a humerus (head and shaft), a scapula (glenoid cup, neck and curved blade), a clavicle, \
        muscle, fat and joint fluid, with per-subject size, position and rotation, a bias field and Rician noise; \
        sites a and b use a T1-weighted contrast, site c a water-saturated Dixon contrast. Affines are not the \
        identity: flipped axes (a), oblique and permuted axes (b, c). Site a also holds QA-flagged sessions with \
        broken files (unless --no-faults): truncated, NaN, complex64, 4D, label grid mismatches, unlisted label \
        value, missing label. Deterministic from --seed.
        """
    )

    @OptionGroup var options: PhantomOptions

    @Option(help: "Subjects per site (at least 3; at site a the first half have two sessions).")
    var subjects: Int = 6

    func validate() throws {
        guard subjects >= 3 else { throw ValidationError("--subjects must be at least 3 (train, val and test need a subject each)") }
        _ = try options.siteNames(all: MRPhantomSite.all.map(\.name))
    }

    func run() throws {
        try options.write(sites: MRPhantomSite.all.map(\.name)) { name, out in
            let site = MRPhantomSite.named(name)!
            let summary = try MRPhantomExporter.export(site: site, to: out, subjects: subjects, seed: options.seed, faults: options.faults,
                                                       workers: options.shared.workerCount, progress: options.shared.progress.mode)
            return ["site \(name): \(summary.volumes) volumes of \(summary.subjects) subjects in \(summary.directory.path)",
                    "  \(site.summary); sequence \(site.sequence.rawValue); labels \(site.labelSummary)"]
                + summary.faults.map { "  extra file: \($0)" }
        }
    }
}
