@testable import Ingest
import ArrayFiles
import DicomIO
import Foundation
import Phantoms
import Support
import TestSupport
import Testing

/// What a site shares (`--out`) must not identify a patient; the salt and the resume records
/// stay in the state folder.
@Suite(.serialized) struct PrivacyTests {
    // MARK: - dates in every written form

    /// The forms the converter must recognise for 13 April 1992, written out by hand.
    @Test func dateFormsCoverTheCommonWrittenForms() {
        let forms = Set(DateForms.writtenForms(ofDICOMDate: "19920413"))
        for expected in ["19920413", "1992-04-13", "1992.04.13", "1992_04_13", "1992/04/13", "1992 04 13",
                         "13.04.1992", "13-04-1992", "13/04/1992", "04/13/1992", "04-13-1992", "4/13/1992", "13.4.1992",
                         "13-04-92", "13.04.92", "04/13/92", "920413", "130492", "041392", "13041992", "04131992", "92-04-13"] {
            #expect(forms.contains(expected), "\(expected)")
        }
        #expect(DateForms.writtenForms(ofDICOMDate: "1992041").isEmpty, "not a date")
        #expect(DateForms.writtenForms(ofDICOMDate: "19921341").isEmpty, "month 13")
    }

    /// A folder named with the birth date day-first with dots, a file with the study date
    /// month-first with a two-digit year: both segments are hashed; others stay readable.
    @Test func scrubbingFindsDatesInOtherForms() {
        let privacy = PathPrivacy(mode: .scrubbed, hasher: SaltedHasher(salt: [7]))
        let tokens = DateForms.writtenForms(ofDICOMDate: "19920413") + DateForms.writtenForms(ofDICOMDate: "20230222")
        let rendered = privacy.render("cardio/scan 13.04.1992/echo_02-22-23.dcm", tokens: tokens)
        let parts = rendered.split(separator: "/").map(String.init)
        #expect(parts.count == 3 && parts[0] == "cardio", "\(rendered)")
        #expect(parts[1].hasPrefix("h-") && parts[2].hasPrefix("h-") && parts[2].hasSuffix(".dcm"), "\(rendered)")
        #expect(privacy.render("cardio/series 7/IMG_0001.dcm", tokens: tokens) == "cardio/series 7/IMG_0001.dcm")
    }

    // MARK: - a cine nothing bounds

    /// A still cine without an ultrasound region: no region, no moving sector. With
    /// `mask: sector` it is skipped with a reason; `mask: none` keeps the whole image.
    @Test func unboundedCineIsSkippedUnderSectorMask() throws {
        try DicomLibrary.ensureInitialized()
        let folder = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("still.dcm")
        let (rows, columns, frames) = (64, 80, 6)
        let still = (0..<(rows * columns)).map { UInt8(($0 * 37) % 251) }
        try SyntheticDicom.write(to: url, rows: rows, columns: columns, frames: frames, colour: false, syntax: .explicitVRLittleEndian,
                                 pixels: Array((0..<frames).map { _ in still }.joined()))

        var geometry = GeometrySpec()
        geometry.size = [32, 32]
        #expect(throws: EchoCineProcessor.Skip.self) {
            _ = try EchoCineProcessor(geometry: geometry, frames: FrameSpec()).process(path: url.path)
        }
        geometry.mask = .none
        let kept = try EchoCineProcessor(geometry: geometry, frames: FrameSpec()).process(path: url.path)
        #expect(kept.region.hasPrefix("full image"))
    }

    // MARK: - state outside the output

    @Test func stateAndSaltInsideTheOutputAreRefused() throws {
        let root = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out")
        #expect(throws: IngestError.self) {
            _ = try ConversionWorkspace(outputRoot: out, dataset: "d", stateRoot: out.appendingPathComponent(".state"), saltFile: nil)
        }
        #expect(throws: IngestError.self) {
            _ = try ConversionWorkspace(outputRoot: out, dataset: "d", stateRoot: root.appendingPathComponent("state"),
                                        saltFile: out.appendingPathComponent("salt").path)
        }
        // The default state folder: under XDG_STATE_HOME, named by the output path's hash.
        let state = StateLocation.defaultRoot(for: out, environment: ["XDG_STATE_HOME": "/var/tmp/xdg", "HOME": "/home/u"])
        #expect(state.path == "/var/tmp/xdg/medcil/outputs/" + StateLocation.key(for: out))
        let fallback = StateLocation.defaultRoot(for: out, environment: ["HOME": "/home/u"])
        #expect(fallback.path == "/home/u/.local/state/medcil/outputs/" + StateLocation.key(for: out))
        #expect(StateLocation.key(for: out) != StateLocation.key(for: root), "each output folder has its own state")
    }

    /// The demo's salt (derivable from its seed, passed explicitly) is never the salt a later
    /// conversion into the same output folder takes by default: that one is fresh and random.
    @Test func explicitSaltIsNeverTakenAsTheDefault() throws {
        let root = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("shards"), state = root.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let demoSalt = state.appendingPathComponent("demo-salt")
        try Data(SHA256.hash(Array("derived from a seed".utf8))).write(to: demoSalt)
        let url = TestPaths.converters.appendingPathComponent("phantom-echo-b.yaml")
        var config = try ConfigLoader.load(EchoConverterConfig.self, from: url)
        config.geometry.size = [32, 32]
        config.privacy.saltFile = demoSalt.path
        let input = PhantomFixture.exports.appendingPathComponent("site-b")
        let demo = try EchoConversion(config: config, configURL: url, inputRoot: input, outputRoot: out, stateRoot: state,
                                      workers: 2, progressMode: .off).run()
        func ids(_ summary: EchoConversion.Summary) throws -> Set<String> {
            let manifest = try CSVTable(contentsOf: summary.datasetDirectory.appendingPathComponent("manifest.csv"))
            return Set(manifest.rows.map { $0[manifest.column("id")!] })
        }
        let demoIDs = try ids(demo)
        config.privacy.saltFile = nil
        let real = try EchoConversion(config: config, configURL: url, inputRoot: input, outputRoot: out, stateRoot: state,
                                      workers: 2, progressMode: .off).run()
        let defaultSalt = try Data(contentsOf: state.appendingPathComponent("salt"))
        let derivedSalt = try Data(contentsOf: demoSalt)
        #expect(defaultSalt.count == 32 && defaultSalt != derivedSalt)
        #expect(real.converted == demo.converted && real.reused == 0, "new salt, new identifiers: nothing reused")
        let realIDs = try ids(real)
        #expect(!demoIDs.isEmpty && demoIDs.isDisjoint(with: realIDs))
    }

    // MARK: - must show: nothing under --out identifies a patient

    /// Phantom echo (names, IDs and birth dates in folder names; names, IDs and dates in the
    /// headers and burned into the pixels) and MR exports (names and dates in folder names,
    /// subject IDs in file names) converted with their sites' converters. Every file under
    /// `--out`, hidden ones included, is decoded by kind and searched for every identity the
    /// phantom generator used; the state folder's records too (the salt file aside).
    @Test func outputsHoldNoPatientIdentity() throws {
        let root = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("out"), state = root.appendingPathComponent("state")
        let echoRaw = root.appendingPathComponent("echo-raw"), mrRaw = root.appendingPathComponent("mr-raw")
        var identities: [PhantomIdentity] = []
        var datasets: [URL] = []
        for name in ["a", "c", "d"] {
            let site = EchoPhantomSite.named(name)!
            _ = try EchoPhantomExporter.export(site: site, to: echoRaw, perView: 2, seed: 31, faults: true, workers: 2, progress: .off)
            identities += EchoPhantomExporter.identities(site: site, perView: 2, seed: 31, faults: true)
            if name == "a" {
                // A note (excluded) and an unreadable file in a folder named after the patient:
                // the folder is hashed in their paths too, though their headers give nothing.
                let person = EchoPhantomExporter.identities(site: site, perView: 1, seed: 31, faults: false)[0]
                let folder = echoRaw.appendingPathComponent("site-a/\(person.names[1])_\(person.names[0])_\(person.dates[0])")
                #expect(FileManager.default.fileExists(atPath: folder.path))
                try Data("seen by the cardiologist\n".utf8).write(to: folder.appendingPathComponent("notes.txt"))
                try Data("not an image".utf8).write(to: folder.appendingPathComponent("IMG_9999.dcm"))
            }
            let url = TestPaths.converters.appendingPathComponent("phantom-echo-\(name).yaml")
            var config = try ConfigLoader.load(EchoConverterConfig.self, from: url)
            config.geometry.size = [48, 48]
            config.unmapped = .skip
            let summary = try EchoConversion(config: config, configURL: url, inputRoot: echoRaw.appendingPathComponent("site-\(name)"),
                                             outputRoot: out, stateRoot: state, workers: 2, progressMode: .off).run()
            #expect((summary.report.totals["converted"] ?? 0) > 0)
            // Pixels: burned-in text lies outside the sector, so every converted cine must
            // have been masked to its sector.
            for fate in summary.report.files where fate.outcome == .converted {
                #expect(fate.mask?.hasPrefix("sector") == true, "\(fate.source): \(fate.mask ?? "no mask")")
            }
            datasets.append(summary.datasetDirectory)
        }
        for name in ["a", "c"] {
            let site = MRPhantomSite.named(name)!
            _ = try MRPhantomExporter.export(site: site, to: mrRaw, subjects: 3, seed: 31, faults: false, workers: 2, progress: .off)
            identities += MRPhantomExporter.identities(site: site, subjects: 3, seed: 31)
            let url = TestPaths.converters.appendingPathComponent("phantom-mr-\(name).yaml")
            let config = try ConfigLoader.load(MRConverterConfig.self, from: url)
            let summary = try MRConversion(config: config, configURL: url, inputRoot: mrRaw.appendingPathComponent("site-\(name)"),
                                           outputRoot: out, stateRoot: state, workers: 2, progressMode: .off).run()
            #expect((summary.report.totals["converted"] ?? 0) > 0)
            datasets.append(summary.datasetDirectory)
        }
        #expect(identities.contains { !$0.names.isEmpty } && identities.contains { !$0.uids.isEmpty }
                && identities.contains { !$0.dates.isEmpty } && identities.contains { !$0.ids.isEmpty })
        let probe = IdentityProbe(identities)
        // The probe finds what it looks for (else a silent probe would pass every output).
        #expect(!probe.findings(in: "folder \(identities[0].names[1])_\(identities[0].names[0])_x").isEmpty)
        #expect(!probe.findings(in: IdentityProbe.forms(ofDICOMDate: identities[0].dates[0])[5]).isEmpty)

        let outputFiles = try PrivacyWalk.files(under: out)
        #expect(outputFiles.count > 100)
        #expect(!outputFiles.contains { $0.hasPrefix(".") || $0.contains("/.") }, "no hidden state under --out")
        for relative in outputFiles {
            let found = try PrivacyWalk.texts(of: out.appendingPathComponent(relative)).flatMap(probe.findings)
            #expect(found.isEmpty, "\(relative): \(found.prefix(5))")
        }
        for relative in try PrivacyWalk.files(under: state) where relative != "salt" {
            let found = try PrivacyWalk.texts(of: state.appendingPathComponent(relative)).flatMap(probe.findings)
            #expect(found.isEmpty, "state \(relative): \(found.prefix(5))")
        }
    }
}

/// Looks for phantom identities in decoded text: names as written (upper case, whole words),
/// IDs and UIDs (whole words, any case), and every date in its common written forms.
struct IdentityProbe {
    let patterns: [(String, NSRegularExpression)]

    init(_ identities: [PhantomIdentity]) {
        var words: [(String, Bool)] = []   // (text, case-sensitive)
        for identity in identities {
            words += identity.names.map { ($0, true) }
            words += (identity.ids + identity.uids).map { ($0, false) }
            words += identity.dates.flatMap(Self.forms(ofDICOMDate:)).map { ($0, false) }
        }
        var seen = Set<String>()
        patterns = words.filter { seen.insert($0.0 + ($0.1 ? "" : "/i")).inserted }.map { word, caseSensitive in
            let pattern = "(?<![A-Za-z0-9])" + NSRegularExpression.escapedPattern(for: word) + "(?![A-Za-z0-9])"
            return (word, try! NSRegularExpression(pattern: pattern, options: caseSensitive ? [] : [.caseInsensitive]))
        }
    }

    func findings(in text: String) -> [String] {
        let range = NSRange(text.startIndex..., in: text)
        return patterns.filter { $0.1.firstMatch(in: text, range: range) != nil }.map(\.0)
    }

    /// A date's written forms, from Foundation's formatter (independent of the converter's
    /// own list): year first, day first, month first; separators none, - . / _ and space;
    /// four- and two-digit years; separated forms also without leading zeros.
    static func forms(ofDICOMDate text: String) -> [String] {
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = TimeZone(identifier: "UTC")
        parser.dateFormat = "yyyyMMdd"
        guard let date = parser.date(from: text) else { return [] }
        var forms: [String] = []
        for separator in ["", "-", ".", "/", "_", " "] {
            for year in ["yyyy", "yy"] {
                for (month, day) in separator.isEmpty ? [("MM", "dd")] : [("MM", "dd"), ("M", "d")] {
                    for order in [[year, month, day], [day, month, year], [month, day, year]] {
                        parser.dateFormat = order.joined(separator: separator.isEmpty ? "" : "'\(separator)'")
                        forms.append(parser.string(from: date))
                    }
                }
            }
        }
        return forms
    }
}

/// Every file under a folder (hidden ones included), decoded by kind into the text it holds.
enum PrivacyWalk {
    static func files(under folder: URL) throws -> [String] {
        let base = folder.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [String] = []
        for case let url as URL in walker where try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
            out.append(String(url.standardizedFileURL.path.dropFirst(base.count + 1)))
        }
        return out.sorted()
    }

    struct UnknownKind: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path): a kind of file this check cannot decode" }
    }

    /// JSON: every key and string value; CSV: every field; text and YAML: the lines; `.npy`:
    /// the header's text (its payload is numbers). Any other kind fails: it could not be checked.
    static func texts(of url: URL) throws -> [String] {
        let name = url.lastPathComponent
        let data = try Data(contentsOf: url)
        switch url.pathExtension.lowercased() {
        case "json":
            var strings: [String] = []
            func walk(_ value: Any) {
                if let text = value as? String { strings.append(text) }
                if let array = value as? [Any] { array.forEach(walk) }
                if let object = value as? [String: Any] { for (key, item) in object { strings.append(key); walk(item) } }
            }
            walk(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
            return strings
        case "csv":
            return CSVTable.parse(String(decoding: data, as: UTF8.self)).flatMap { $0 }
        case "txt", "yaml", "yml":
            guard let text = String(data: data, encoding: .utf8) else { throw UnknownKind(path: name) }
            return text.components(separatedBy: .newlines)
        case "npy":
            // The header is text after the 8-byte magic and version (and its length field).
            let header = try MappedNpy(url: url).header
            return [String(decoding: data.prefix(header.dataOffset).dropFirst(8), as: UTF8.self)]
        default:
            throw UnknownKind(path: name)
        }
    }
}
