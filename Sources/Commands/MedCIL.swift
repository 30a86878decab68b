import ArgumentParser

/// `medcil`: from raw hospital exports to incrementally trained models.
public struct MedCIL: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "medcil",
        abstract: "Medical images from raw hospital exports to incrementally trained models.",
        discussion: """
        Typical flow at a site: `medcil convert echo --config converters/<site>.yaml --input EXPORT --out SHARDS`
        turns a DICOM export into normalized .npy shards with harmonized labels; `medcil demo` runs the whole
        pipeline on bundled phantom data. Every subcommand has its own --help.
        """,
        subcommands: [Demo.self, Convert.self, Labels.self, Phantom.self, Train.self, Features.self, EvaluateRun.self, SiteShift.self, Experiment.self, CIL.self,
                      DicomCommand.self, NiftiCommand.self, Bench.self, Seg.self]
    )

    public init() {}
}
