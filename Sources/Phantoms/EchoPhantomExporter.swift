import ArrayFiles
import Console
import DicomIO
import Foundation
import Support

/// Writes phantom hospital exports: real DICOM files (Ultrasound Multi-frame Image Storage)
/// through DCMTK, organised and labelled the way each site does it. Deterministic from the
/// seed: the same seed writes the same bytes.
public enum EchoPhantomExporter {
    public struct Summary: Sendable {
        public var site: String
        public var directory: URL
        public var files: Int
        /// Cines per canonical view.
        public var perView: [String: Int]
        /// Deliberately broken or unusable files written (fault injection).
        public var faults: [String]
    }

    static let ultrasoundMultiFrame = "1.2.840.10008.5.1.4.1.1.3.1"
    static let firstNames = ["JANE", "JOHN", "ALEX", "MARIA", "SAM", "LEE", "NOOR", "IVAN", "ANA", "OMAR", "LIN", "EVA", "RAJ", "ZOE"]
    static let lastNames = ["DOE", "ROE", "SMITH", "GARCIA", "CHEN", "KHAN", "NOVAK", "SILVA", "MOORE", "TANAKA", "OKAFOR", "BERG"]

    /// Writes site `site` under `directory/site-<name>/`.
    /// - Parameters:
    ///   - perView: cines per view (one patient per cine index, each patient has every view).
    ///   - faults: add the broken and unusable files a real export contains (site a: truncated,
    ///     not DICOM, no pixel data, bad NumberOfFrames, JPEG 2000, a Doppler strip; site c: a
    ///     folder of unlabelled cines).
    public static func export(site: EchoPhantomSite, to directory: URL, perView: Int, seed: UInt64, faults: Bool = true,
                              workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                              progress: ProgressReporter.Mode = .automatic) throws -> Summary {
        let root = directory.appendingPathComponent("site-\(site.name)")
        try AtomicFile.ensureDirectory(root)
        let jobs = (0..<perView).flatMap { patient in site.views.indices.map { (patient, $0) } }
        let reporter = ProgressReporter(label: "phantom echo site \(site.name)", total: jobs.count, unit: "cines", mode: progress)
        let results: [Result<(String, String), Error>] = parallelMap(jobs.count, workers: workers) { index in
            defer { reporter.advance() }
            let (patient, viewIndex) = jobs[index]
            do {
                return .success(try writeCine(site: site, patient: patient, viewIndex: viewIndex, root: root, seed: seed))
            } catch {
                return .failure(error)
            }
        }
        reporter.finish()
        var csvRows: [[String]] = []
        var perViewCount: [String: Int] = [:]
        for (index, result) in results.enumerated() {
            let (relative, raw) = try result.get()
            csvRows.append([relative, raw])
            perViewCount[site.views[jobs[index].1].canonical, default: 0] += 1
        }
        if site.labelLocation == .csvSheet {
            try AtomicFile.write(Data(CSVTable.render(header: ["file", "view"], rows: csvRows).utf8), to: root.appendingPathComponent("labels.csv"))
        }
        try AtomicFile.write(Data("Phantom export of site \(site.name) (\(site.summary)), written by medcil \(MedCILVersion.string).\n".utf8),
                             to: root.appendingPathComponent("EXPORT-NOTES.txt"))
        var faultFiles: [String] = []
        if faults { faultFiles = try writeFaults(site: site, root: root, seed: seed) }
        return Summary(site: site.name, directory: root, files: jobs.count, perView: perViewCount, faults: faultFiles)
    }

    struct Patient {
        var id: String
        var first: String
        var last: String
        var birthDate: String
        var studyDate: String
    }

    static func patient(site: EchoPhantomSite, index: Int, seed: UInt64) -> Patient {
        var generator = SeededGenerator(seed: mix(seed, site.name, "patient", index))
        let first = firstNames[generator.nextInt(below: firstNames.count)]
        let last = lastNames[generator.nextInt(below: lastNames.count)]
        let birth = String(format: "%04d%02d%02d", 1940 + generator.nextInt(below: 60), 1 + generator.nextInt(below: 12), 1 + generator.nextInt(below: 28))
        let study = String(format: "%04d%02d%02d", 2023 + generator.nextInt(below: 2), 1 + generator.nextInt(below: 12), 1 + generator.nextInt(below: 28))
        return Patient(id: String(format: "%@-%04d", site.name.uppercased(), index + 1), first: first, last: last, birthDate: birth, studyDate: study)
    }

    /// Writes one cine; returns its path relative to the site folder and its raw label.
    static func writeCine(site: EchoPhantomSite, patient index: Int, viewIndex: Int, root: URL, seed: UInt64) throws -> (String, String) {
        let view = site.views[viewIndex]
        let person = patient(site: site, index: index, seed: seed)
        var generator = SeededGenerator(seed: mix(seed, site.name, view.canonical, index))
        let subject = EchoSubject.random(using: &generator)
        let frames = site.style.framesPerCine.lowerBound + generator.nextInt(below: site.style.framesPerCine.count)
        let renderer = EchoCineRenderer(
            style: site.style, view: view.canonical, subject: subject,
            textLines: ["\(site.manufacturer.uppercased())", "\(person.last)^\(person.first)", "ID \(person.id)", "\(person.studyDate)"],
            rightLines: ["HR \(Int(subject.heartRate.rounded()))", "\(Int(site.style.framesPerSecond)) FPS", "DEPTH \(Int(site.style.depthCentimetres.rounded()))CM"])
        let pixels = renderer.render(frames: frames, seed: generator.next())
        let relative: String
        switch site.name {
        case "a": relative = "\(person.last)_\(person.first)_\(person.birthDate)/\(person.studyDate)/IMG_\(String(format: "%04d", viewIndex + 1)).dcm"
        case "b": relative = String(format: "exam_%04d/cine_%02d.dcm", index + 1, viewIndex + 1)
        case "c": relative = "\(view.raw)/\(person.id)_\(viewIndex + 1).dcm"
        default: relative = String(format: "%@/SER%04d/IM0001", person.id, viewIndex + 1)
        }
        // Site c: every tenth cine keeps the region box of a twice-as-large original.
        let regionScale = site.name == "c" && (index * site.views.count + viewIndex) % 10 == 3 ? 2 : 1
        try writeDICOM(site: site, person: person, view: view, viewIndex: viewIndex, renderer: renderer, pixels: pixels, frames: frames,
                       regionScale: regionScale, seed: seed, to: root.appendingPathComponent(relative))
        return (relative, view.raw)
    }

    static func writeDICOM(site: EchoPhantomSite, person: Patient, view: (canonical: String, raw: String), viewIndex: Int,
                           renderer: EchoCineRenderer, pixels: [UInt8], frames: Int, regionScale: Int, seed: UInt64,
                           numberOfFramesOverride: Int? = nil, to url: URL, syntax: TransferSyntax? = nil) throws {
        let writer = try DicomWriter()
        let ds = writer.dataset
        let style = site.style
        let uidBase = "\(site.name):\(person.id):\(view.canonical):\(viewIndex)"
        try ds.put(.sopClassUID, ultrasoundMultiFrame)
        try ds.put(.sopInstanceUID, uid(seed, uidBase, "sop"))
        try ds.put(.studyInstanceUID, uid(seed, "\(site.name):\(person.id)", "study"))
        try ds.put(.seriesInstanceUID, uid(seed, uidBase, "series"))
        try ds.put(.modality, "US")
        try ds.put(.manufacturer, site.manufacturer)
        try ds.put(.patientName, "\(person.last)^\(person.first)")
        try ds.put(.patientID, person.id)
        try ds.put(.patientBirthDate, person.birthDate)
        try ds.put(.studyDate, person.studyDate)
        try ds.put(DicomTag(0x0008, 0x0030), "101500")
        try ds.put(DicomTag(0x0020, 0x0011), viewIndex + 1)  // SeriesNumber
        try ds.put(DicomTag(0x0020, 0x0013), 1)              // InstanceNumber
        if site.labelLocation == .seriesDescription { try ds.put(.seriesDescription, view.raw) }
        try ds.put(.samplesPerPixel, style.colour ? 3 : 1)
        try ds.put(.photometricInterpretation, style.colour ? "RGB" : "MONOCHROME2")
        if style.colour { try ds.put(.planarConfiguration, site.planarConfiguration) }
        try ds.put(.rows, style.rows)
        try ds.put(.columns, style.columns)
        try ds.put(.bitsAllocated, 8)
        try ds.put(.bitsStored, 8)
        try ds.put(.highBit, 7)
        try ds.put(.pixelRepresentation, 0)
        try ds.put(.numberOfFrames, numberOfFramesOverride ?? frames)
        let frameTime = 1000 / style.framesPerSecond
        switch site.timing {
        case .frameTime:
            try ds.put(.frameTime, String(format: "%.4f", frameTime))
            try ds.put(DicomTag(0x0028, 0x0009), "(0018,1063)")  // FrameIncrementPointer -> FrameTime
        case .frameTimeVector:
            try ds.put(.frameTimeVector, ([0.0] + [Double](repeating: frameTime, count: max(frames - 1, 0))).map { String(format: "%.4f", $0) }.joined(separator: "\\"))
            try ds.put(DicomTag(0x0028, 0x0009), "(0018,1065)")
        case .cineRate:
            try ds.put(.cineRate, Int(style.framesPerSecond.rounded()))
            try ds.put(DicomTag(0x0028, 0x0009), "(0018,0040)")
        }
        if site.writesRegions {
            let box = renderer.sectorBox
            let tissue = try ds.appendItem(to: .sequenceOfUltrasoundRegions)
            try tissue.put(DicomTag(0x0018, 0x6012), 1)  // RegionSpatialFormat: 2D
            try tissue.put(DicomTag(0x0018, 0x6014), 1)  // RegionDataType: tissue
            try tissue.put(DicomTag(0x0018, 0x6016), 2)  // RegionFlags
            try tissue.put(DicomTag(0x0018, 0x6018), box.x0 * regionScale)
            try tissue.put(DicomTag(0x0018, 0x601A), box.y0 * regionScale)
            try tissue.put(DicomTag(0x0018, 0x601C), box.x1 * regionScale)
            try tissue.put(DicomTag(0x0018, 0x601E), box.y1 * regionScale)
            try tissue.put(DicomTag(0x0018, 0x6024), 3)  // PhysicalUnitsXDirection: cm
            try tissue.put(DicomTag(0x0018, 0x6026), 3)
            try tissue.put(DicomTag(0x0018, 0x602C), style.depthCentimetres / style.radius)  // PhysicalDeltaX (cm per pixel)
            try tissue.put(DicomTag(0x0018, 0x602E), style.depthCentimetres / style.radius)
            try tissue.put(DicomTag(0x0018, 0x6020), Int(style.apexX * Double(style.columns)) - box.x0)  // ReferencePixelX0
            try tissue.put(DicomTag(0x0018, 0x6022), 0)
            try tissue.put(DicomTag(0x0018, 0x6030), Int((style.probeMegahertz * 1000).rounded()))  // TransducerFrequency (kHz)
            let ecg = renderer.ecgBox
            let trace = try ds.appendItem(to: .sequenceOfUltrasoundRegions)
            try trace.put(DicomTag(0x0018, 0x6012), 4)  // waveform
            try trace.put(DicomTag(0x0018, 0x6014), 9)  // ECG trace
            try trace.put(DicomTag(0x0018, 0x6016), 0)
            try trace.put(DicomTag(0x0018, 0x6018), ecg.x0)
            try trace.put(DicomTag(0x0018, 0x601A), ecg.y0)
            try trace.put(DicomTag(0x0018, 0x601C), ecg.x1)
            try trace.put(DicomTag(0x0018, 0x601E), ecg.y1)
        }
        var bytes = pixels
        if style.colour && site.planarConfiguration == 1 { bytes = toPlanar(pixels, frames: frames, pixelsPerFrame: style.rows * style.columns) }
        try ds.putPixelData(bytes)
        try writer.save(to: url, transferSyntax: syntax ?? site.transferSyntax, jpegQuality: 85)
    }

    /// Interleaved RGB frames -> colour-by-plane (RRR... GGG... BBB... per frame).
    static func toPlanar(_ pixels: [UInt8], frames: Int, pixelsPerFrame: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pixels.count)
        for f in 0..<frames {
            let base = f * pixelsPerFrame * 3
            for p in 0..<pixelsPerFrame {
                for c in 0..<3 { out[base + c * pixelsPerFrame + p] = pixels[base + 3 * p + c] }
            }
        }
        return out
    }

    /// The patients of the fault files (`writeFaults`).
    static func faultPatients(site: EchoPhantomSite) -> [Patient] {
        switch site.name {
        case "a": return [Patient(id: "A-9001", first: "TEST", last: "FAULT", birthDate: "19700101", studyDate: "20240101")]
        case "c": return (0..<2).map { Patient(id: "C-900\($0)", first: "UN", last: "SORTED", birthDate: "19800101", studyDate: "20240101") }
        default: return []
        }
    }

    /// The broken and unusable files a real export contains.
    static func writeFaults(site: EchoPhantomSite, root: URL, seed: UInt64) throws -> [String] {
        var written: [String] = []
        let misc = root.appendingPathComponent("misc")
        if site.name == "a" {
            let person = faultPatients(site: site)[0]
            let view = site.views[2]
            var generator = SeededGenerator(seed: mix(seed, "faults", "a", 0))
            let subject = EchoSubject.random(using: &generator)
            let renderer = EchoCineRenderer(style: site.style, view: view.canonical, subject: subject, textLines: ["FAULT"], rightLines: [])
            let frames = 12
            let pixels = renderer.render(frames: frames, seed: generator.next())
            // 1. A cine cut off in the middle of its pixel data.
            let full = misc.appendingPathComponent("IMG_T001.dcm")
            try writeDICOM(site: site, person: person, view: view, viewIndex: 90, renderer: renderer, pixels: pixels, frames: frames,
                           regionScale: 1, seed: seed, to: full)
            let data = try Data(contentsOf: full)
            try AtomicFile.write(data.prefix(data.count * 6 / 10), to: full)
            written.append("misc/IMG_T001.dcm (truncated)")
            // 2. Not DICOM at all.
            try AtomicFile.write(Data("Exported 2024-01-01 by the archive. Contact PACS support.\n".utf8), to: misc.appendingPathComponent("IMG_TXT1.dcm"))
            written.append("misc/IMG_TXT1.dcm (not DICOM)")
            // 3. A header without pixel data.
            let header = try DicomWriter()
            try header.dataset.put(.sopClassUID, ultrasoundMultiFrame)
            try header.dataset.put(.sopInstanceUID, uid(seed, "fault-nopixels", "sop"))
            try header.dataset.put(.studyInstanceUID, uid(seed, "fault-nopixels", "study"))
            try header.dataset.put(.modality, "US")
            try header.dataset.put(.patientID, person.id)
            try header.dataset.put(.seriesDescription, view.raw)
            try header.save(to: misc.appendingPathComponent("IMG_NP01.dcm"), transferSyntax: .explicitVRLittleEndian)
            written.append("misc/IMG_NP01.dcm (no pixel data)")
            // 4. NumberOfFrames promises more frames than the pixel data holds.
            try writeDICOM(site: site, person: person, view: view, viewIndex: 91, renderer: renderer, pixels: pixels, frames: frames,
                           regionScale: 1, seed: seed, numberOfFramesOverride: frames * 2,
                           to: misc.appendingPathComponent("IMG_BF01.dcm"), syntax: .explicitVRLittleEndian)
            written.append("misc/IMG_BF01.dcm (bad NumberOfFrames)")
            // 5. JPEG 2000: the transfer syntax UID of a JPEG file relabelled (same length), as
            //    a PACS that recompressed to JPEG 2000 would deliver it.
            let j2k = misc.appendingPathComponent("IMG_J2K1.dcm")
            try writeDICOM(site: site, person: person, view: view, viewIndex: 92, renderer: renderer, pixels: pixels, frames: frames,
                           regionScale: 1, seed: seed, to: j2k)
            var bytes = [UInt8](try Data(contentsOf: j2k))
            let from = Array("1.2.840.10008.1.2.4.50".utf8), to = Array("1.2.840.10008.1.2.4.91".utf8)
            if let at = firstIndex(of: from, in: bytes, before: 400) { bytes.replaceSubrange(at..<(at + from.count), with: to) }
            try AtomicFile.write(Data(bytes), to: j2k)
            written.append("misc/IMG_J2K1.dcm (JPEG 2000)")
            // 6. A spectral Doppler strip, labelled so that the site map ignores it.
            let doppler = misc.appendingPathComponent("IMG_DOP1.dcm")
            try writeDICOM(site: site, person: person, view: ("A4C", "PW Doppler"), viewIndex: 93, renderer: renderer, pixels: pixels,
                           frames: frames, regionScale: 1, seed: seed, to: doppler)
            written.append("misc/IMG_DOP1.dcm (Doppler, label mapped to IGNORE)")
        }
        if site.name == "c" {
            // Cines filed in a folder whose name is not a view.
            for k in 0..<2 {
                var generator = SeededGenerator(seed: mix(seed, "faults", "c", k))
                let subject = EchoSubject.random(using: &generator)
                let view = site.views[k]
                let renderer = EchoCineRenderer(style: site.style, view: view.canonical, subject: subject, textLines: ["UNSORTED"], rightLines: [])
                let person = faultPatients(site: site)[k]
                try writeDICOM(site: site, person: person, view: ("A2C", "Unsorted"), viewIndex: 95 + k, renderer: renderer,
                               pixels: renderer.render(frames: 12, seed: generator.next()), frames: 12, regionScale: 1, seed: seed,
                               to: root.appendingPathComponent("Unsorted/\(person.id)_1.dcm"))
                written.append("Unsorted/\(person.id)_1.dcm (folder is not a view)")
            }
        }
        return written
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], before limit: Int) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...min(limit, haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle {
            return start
        }
        return nil
    }

    /// A 64-bit seed mixed from the run seed and names, independent of Swift's hashing.
    static func mix(_ seed: UInt64, _ parts: Any...) -> UInt64 {
        let text = "\(seed):" + parts.map { "\($0)" }.joined(separator: ":")
        let digest = SHA256.hash(Array(text.utf8))
        return digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A deterministic UID under the 2.25 (UUID-derived) root.
    static func uid(_ seed: UInt64, _ base: String, _ kind: String) -> String {
        let a = mix(seed, base, kind, "hi"), b = mix(seed, base, kind, "lo")
        return "2.25.\(a | 1 << 63)\(b % 1_000_000_000_000_000)"
    }
}
