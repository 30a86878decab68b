import Console
import Foundation

/// What every part of `medcil demo` receives from the command line.
public struct DemoContext {
    /// The demo's root folder; each part writes below it.
    public var out: URL
    public var converters: URL
    /// Seed of the phantom data.
    public var seed: UInt64
    public var workers: Int
    public var progressMode: ProgressReporter.Mode
    /// The reference works' settings instead of the 2-core ones.
    public var full: Bool
    /// Phantom cines per view and site, when the command line gives it.
    public var perView: Int?
    /// Experiment settings (YAML) over the experts part's preset.
    public var experimentConfig: URL?
    /// Sample orders the experts part runs its experiment over, when the command line gives it.
    public var orders: Int?
    /// Progress of a part's stages: (label, done, total).
    public var stageProgress: (String, Int, Int) -> Void = { _, _, _ in }
    /// Where the demo's lines go.
    public var say: (String) -> Void = { print($0) }

    public init(out: URL, converters: URL, seed: UInt64, workers: Int, progressMode: ProgressReporter.Mode, full: Bool) {
        self.out = out; self.converters = converters; self.seed = seed
        self.workers = workers; self.progressMode = progressMode; self.full = full
    }
}

/// One part of `medcil demo`: one method family on phantom data, ending in its table.
public protocol DemoPart {
    /// The name `medcil demo NAME` runs it by.
    static var name: String { get }
    /// One line for the command's help.
    static var summary: String { get }
    init(context: DemoContext) throws
    /// Runs the part and returns its final table, which the demo repeats at the end.
    func runPart() throws -> String
}

/// A part's registry entry (a struct, not an existential metatype, which Swift 6.3's SIL
/// generation crashes on in closures).
public struct DemoPartEntry {
    public var name: String
    public var summary: String
    public var run: (DemoContext) throws -> String

    public init<Part: DemoPart>(_ part: Part.Type) {
        name = Part.name
        summary = Part.summary
        run = { try Part(context: $0).runPart() }
    }
}

/// `medcil demo` as a library: the registered parts in order, or the one named, then each
/// part's table once more and the total time.
public struct DemoWorkflow {
    /// Every part, in the order `medcil demo` runs them. A new part is one file plus one entry.
    public static let parts: [DemoPartEntry] = [DemoPartEntry(ExpertsDemo.self), DemoPartEntry(CILDemo.self), DemoPartEntry(SegDemo.self)]

    public static func part(named name: String) -> DemoPartEntry? {
        parts.first { $0.name == name }
    }

    public var context: DemoContext
    /// The parts to run (names); all when empty.
    public var only: [String]

    public init(context: DemoContext, only: [String] = []) {
        self.context = context
        self.only = only
    }

    public func run() throws {
        let started = Date()
        var selected: [DemoPartEntry] = []
        for name in only {
            guard let part = Self.part(named: name) else {
                throw DemoError("unknown demo part '\(name)'; parts: \(Self.parts.map { $0.name }.joined(separator: ", "))")
            }
            selected.append(part)
        }
        if selected.isEmpty { selected = Self.parts }
        var tables: [(String, String, Double)] = []
        for part in selected {
            let partStarted = Date()
            context.say("\n######## demo part '\(part.name)': \(part.summary)")
            let table = try part.run(context)
            tables.append((part.name, table, Date().timeIntervalSince(partStarted)))
        }
        if selected.count > 1 {
            context.say("\n######## summary")
            for (name, table, seconds) in tables {
                context.say(String(format: "\n%@ (%.1f min):\n", name, seconds / 60) + table)
            }
        }
        context.say(String(format: "\ndemo finished in %.1f min", Date().timeIntervalSince(started) / 60))
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
