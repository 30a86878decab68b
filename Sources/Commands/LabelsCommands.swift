import ArgumentParser
import Console
import Foundation
import Ingest
import Support

/// `medcil labels`: inspect site label maps.
struct Labels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a site's label map against the canonical taxonomy and its export.",
        subcommands: [LabelsCheck.self]
    )
}

/// `medcil labels check converters/X.yaml [--input DIR]`
struct LabelsCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Show the mapping table; with --input, every raw label found and whether it is mapped.",
        discussion: "Exits with status 1 when --input holds raw labels the map does not cover (so it can gate a conversion)."
    )

    @Argument(help: "Site converter (YAML).")
    var config: String

    @Option(help: "The site's export, to list the raw labels it actually contains.")
    var input: String?

    @OptionGroup var shared: SharedOptions

    func run() throws {
        let configURL = URL(fileURLWithPath: config)
        let converter = try ConfigLoader.load(EchoConverterConfig.self, from: configURL)
        let taxonomyURL = URL(fileURLWithPath: converter.taxonomy, relativeTo: configURL.deletingLastPathComponent()).standardizedFileURL
        let taxonomy = try Taxonomy.load(from: taxonomyURL)
        let map = try LabelMap(raw: converter.labelMap, taxonomy: taxonomy)
        print("site \(converter.site): \(converter.labelMap.count) raw labels -> \(map.targetClasses.count) classes of \(taxonomy.name) \(taxonomy.version)")
        print("labels from: \(describe(converter.label)); unmapped labels: \(converter.unmapped.rawValue)\n")
        var table = TextTable(header: ["raw label (as written)", "normalised", "canonical", "index"], rightAligned: [3])
        for key in converter.labelMap.keys.sorted(by: { LabelMap.normalize($0) < LabelMap.normalize($1) }) {
            let resolution = map.resolve(key)
            switch resolution {
            case .mapped(let index, let name): table.add([key, LabelMap.normalize(key), name, String(index)])
            case .ignored: table.add([key, LabelMap.normalize(key), "IGNORE", "-"])
            case .unmapped: table.add([key, LabelMap.normalize(key), "?", "-"])
            }
        }
        print(table.render())
        let unused = taxonomy.orderedNames.filter { !map.targetClasses.contains($0) }
        if !unused.isEmpty { print("\ncanonical classes this site does not produce: \(unused.joined(separator: ", "))") }

        guard let input else { return }
        let root = URL(fileURLWithPath: input)
        let reader = try LabelReader(spec: converter.label, inputRoot: root)
        let files = try InputScanner.scan(root: root, spec: converter.input).filter { $0.excludedBecause == nil }
        let scanned = parallelMap(files.count, workers: shared.workerCount) { HeaderScan.scan(files[$0], labels: reader) }
        var found: [String: Int] = [:]
        var missing = 0
        for file in scanned {
            if let raw = file.rawLabel { found[raw, default: 0] += 1 } else { missing += 1 }
        }
        print("\nraw labels in \(input) (\(files.count) files considered):")
        var foundTable = TextTable(header: ["raw label", "files", "maps to"], rightAligned: [1])
        var unmapped = 0
        for (raw, count) in found.sorted(by: { $0.key < $1.key }) {
            switch map.resolve(raw) {
            case .mapped(_, let name): foundTable.add([raw, String(count), name])
            case .ignored: foundTable.add([raw, String(count), "IGNORE"])
            case .unmapped: foundTable.add([raw, String(count), "UNMAPPED"]); unmapped += 1
            }
        }
        print(foundTable.render())
        if missing > 0 { print("\n\(missing) file\(missing == 1 ? "" : "s") without a usable label (not DICOM, unreadable, not decodable, or no label value)") }
        if unmapped > 0 {
            print("\n\(unmapped) raw label\(unmapped == 1 ? " is" : "s are") unmapped: add them to label_map (to a class or IGNORE).")
            throw ExitCode(1)
        }
        print("\nall raw labels are mapped")
    }

    private func describe(_ spec: LabelSourceSpec) -> String {
        switch spec.source {
        case .tag: return "DICOM attribute \(spec.tag ?? "")"
        case .csv: return "CSV \(spec.csv ?? "") (key \(spec.keyColumn ?? "") by \(spec.key?.rawValue ?? "path"), label \(spec.labelColumn ?? ""))"
        case .path: return "path pattern \(spec.pattern ?? "")"
        }
    }
}
