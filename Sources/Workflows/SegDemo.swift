import Console
import Foundation
import Ingest
import Phantoms
import Segmentation
import Support
import TensorCore

/// The segmentation part of `medcil demo` (Ozdemir et al. 2018): phantom shoulder MR sites as
/// the paper's three cases, every registered method, and a table laid out like its Table 1.
/// The base network learns the humerus at site a (the paper's HumSeg); each case then adds the
/// scapula: Case 1 from site b (T1w), Case 2 from a single annotated volume of site b, Case 3
/// from site c (water-saturated Dixon, another contrast). The old structure is scored on site
/// a's test volumes, the new one on the increment site's, in 3D and in mm.
public struct SegDemo: DemoPart {
    public static let name = "seg"
    public static let summary = "incremental segmentation of a new structure on phantom MR sites (Ozdemir et al. 2018)"

    public struct Case {
        public var name: String
        public var site: String
        public var volumes: Int?
        public var note: String
    }

    public static let cases = [
        Case(name: "Case 1", site: "b", volumes: nil, note: "humerus at site a, then scapula at site b (T1w)"),
        Case(name: "Case 2", site: "b", volumes: 1, note: "the increment is a single annotated volume of site b"),
        Case(name: "Case 3", site: "c", volumes: nil, note: "the increment comes from site c, water-saturated Dixon"),
    ]

    public var context: DemoContext
    public var settings: SegmentationSettings
    public var registry: SegmentationMethodRegistry = .builtIn
    /// Slice size and in-plane spacing of the conversion (32 x 32 at 6 mm covers the phantoms'
    /// 192 mm field of view; 192 x 192 at 1 mm, near the paper's 0.91 mm, with --full).
    public var size: Int
    public var spacing: Double

    public init(context: DemoContext) throws {
        self.context = context
        settings = context.full ? .paper : .quick
        size = context.full ? 192 : 32
        spacing = context.full ? 1.0 : 6.0
    }

    public func runPart() throws -> String {
        let started = Date()
        let root = context.out.appendingPathComponent("seg")
        let exports = root.appendingPathComponent("exports"), shards = root.appendingPathComponent("shards")
        let say = context.say
        say("""
        settings: U-Net width \(settings.base), \(size)x\(size) slices at \(spacing) mm, \(settings.epochs) epochs, batch \(settings.batchSize), \
        α \(settings.alpha), exemplar ratio \(settings.exemplarRatio), k_c \(settings.exemplars.candidates), k_r \(settings.exemplars.representatives), \
        T \(settings.exemplars.monteCarloPasses), memory \(settings.exemplars.capacity) slices, CoRiSeg distance: \(settings.vgg16 == nil ? "own U-Net encoder (no VGG16 file)" : "VGG16")
        """)

        say("\n== 1/4 phantom MR exports and conversion -> \(shards.path)")
        let state = root.appendingPathComponent("state")
        let salt = state.appendingPathComponent("demo-salt")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        try Data(SHA256.hash(Array("medcil seg demo phantoms, seed \(context.seed)".utf8))).write(to: salt, options: .atomic)
        var sites: [String: URL] = [:]
        for site in MRPhantomSite.all {
            _ = try MRPhantomExporter.export(site: site, to: exports, subjects: 6, seed: context.seed, faults: false,
                                             workers: context.workers, progress: context.progressMode)
            let configURL = context.converters.appendingPathComponent("phantom-mr-\(site.name).yaml")
            var converter = try ConfigLoader.load(MRConverterConfig.self, from: configURL)
            converter.geometry.size = [size, size]
            converter.geometry.spacing = [spacing, spacing]
            converter.privacy.saltFile = salt.path
            let summary = try MRConversion(config: converter, configURL: configURL, inputRoot: exports.appendingPathComponent("site-\(site.name)"),
                                           outputRoot: shards, stateRoot: state, workers: context.workers, progressMode: context.progressMode).run()
            sites[site.name] = summary.datasetDirectory
            say("   site \(site.name): \(site.summary)")
        }

        var run = SegmentationRun(settings: settings)
        run.say = say
        let models = root.appendingPathComponent("models")
        say("\n== 2/4 base network: humerus at site a (HumSeg)")
        let base = models.appendingPathComponent("base")
        let baseModel = try run.train(data: sites["a"]!, out: base)
        let oldTest = try SliceSet.load(folder: sites["a"]!, split: "test")

        say("\n== 3/4 increments: \(registry.names.joined(separator: ", "))")
        // The cases are independent given the base network, and at the quick preset's sizes the
        // kernels do not split across threads: the cases run side by side instead, one kernel
        // thread each (so each case's numbers do not depend on the worker count). Lines carry
        // their case's name, since they interleave.
        let caseWorkers = min(context.workers, Self.cases.count)
        let outcomes = parallelMap(Self.cases.count, workers: caseWorkers) { index in
            Parallel.withThreads(1) {
                Result { try runCase(Self.cases[index], run: run, base: base, sites: sites, oldTest: oldTest, models: models) }
            }
        }
        var results: [String: [String: SegmentationAssessment.Report]] = [:]
        for (c, outcome) in zip(Self.cases, outcomes) { results[c.name] = try outcome.get() }
        let baseReport = try SegmentationAssessment.evaluate(model: baseModel, data: [oldTest])
        for (name, memory) in baseModel.description.exemplarSelections.sorted(by: { $0.key < $1.key }) {
            say("   base exemplars \(name): \(baseModel.memories[name]?.count ?? 0) slices, distance: \(memory)")
        }

        say("\n== 4/4 Table 1 (Dice [%] and ASSD [mm] on the test volumes; old = humerus at site a, new = scapula at the case's site)\n")
        let table = Self.table(results: results, base: baseReport, methods: registry.names)
        say(table)
        say(String(format: "\nseg part finished in %.1f min; outputs in %@", Date().timeIntervalSince(started) / 60, root.path))
        return table
    }

    /// Every method's increment for one case, each assessed on the old and the new test volumes.
    func runCase(_ c: Case, run: SegmentationRun, base: URL, sites: [String: URL], oldTest: SliceSet,
                 models: URL) throws -> [String: SegmentationAssessment.Report] {
        let say = context.say
        // The case's own copy of the base network: modules keep per-call state, so threads do not share one.
        let baseModel = try SegmentationModel.load(from: base)
        say("   \(c.name): \(c.note)")
        let newTest = try SliceSet.load(folder: sites[c.site]!, split: "test")
        var trained: [String: SegmentationModel] = [:]
        var reports: [String: SegmentationAssessment.Report] = [:]
        for method in registry.entries {
            let t0 = Date()
            let model: SegmentationModel
            if method.name == SeparateNetworks.name, var networks = trained[CurSeg.name] {
                // One network per structure is the base network beside CurSeg's, which
                // `separate` would train again bit for bit (same seed, same data): composed,
                // not retrained, to save the demo's time.
                networks.companions = [baseModel]
                networks.description.companions = ["previous"]
                model = networks
            } else {
                model = try run.increment(previous: base, data: sites[c.site]!, method: method,
                                          out: models.appendingPathComponent(c.name.replacingOccurrences(of: " ", with: "").lowercased())
                                              .appendingPathComponent(method.name),
                                          oldData: sites["a"]!, volumes: c.volumes)
            }
            trained[method.name] = model
            let report = try SegmentationAssessment.evaluate(model: model, data: [oldTest, newTest], before: baseModel,
                                                             largestComponent: settings.largestComponent)
            reports[method.name] = report
            let old = report.summary(structure: "humerus"), new = report.summary(structure: "scapula")
            say(String(format: "     %@ %-10@ humerus Dice %@  scapula Dice %@  (%.0f s)", c.name as NSString, method.name as NSString,
                       Self.percent(old?.dice) as NSString, Self.percent(new?.dice) as NSString, Date().timeIntervalSince(t0)))
        }
        return reports
    }

    static func percent(_ x: Double?) -> String { x.map { String(format: "%5.1f", 100 * $0) } ?? "    -" }
    static func mm(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%6.2f", $0) : "   inf" } ?? "     -" }

    /// Rows: the base network (HumSeg) and every method; per case Dice old/new, ASSD old/new.
    static func table(results: [String: [String: SegmentationAssessment.Report]], base: SegmentationAssessment.Report,
                      methods: [String]) -> String {
        var lines = ["method    | " + cases.map { $0.name.padding(toLength: 34, withPad: " ", startingAt: 0) }.joined(separator: "| "),
                     "          | " + cases.map { _ in "Dice hum scap | ASSD hum   scap  " }.joined(separator: "| ")]
        func cells(_ report: SegmentationAssessment.Report?) -> String {
            let old = report?.summary(structure: "humerus"), new = report?.summary(structure: "scapula")
            return "\(percent(old?.dice)) \(percent(new?.dice))  | \(mm(old?.assd)) \(mm(new?.assd))  "
        }
        lines.append("humseg    | " + cases.map { _ in cells(base) }.joined(separator: "| "))
        for method in methods {
            lines.append(method.padding(toLength: 10, withPad: " ", startingAt: 0) + "| "
                         + cases.map { cells(results[$0.name]?[method]) }.joined(separator: "| "))
        }
        return lines.joined(separator: "\n")
    }
}
