import ArrayFiles
import Console
import Foundation
import Support
import NiftiIO

/// Writes phantom MR exports: shoulder volumes and their label volumes as NIfTI through
/// libnifti2, organised and labelled the way each site does it, with each site's grid,
/// axis order, obliquity and datatype. Every subject differs in size, position and
/// rotation; every volume has its own bias field and Rician noise. Deterministic from the
/// seed: the same seed writes the same bytes.
public enum MRPhantomExporter {
    public struct Summary: Sendable {
        public var site: String
        public var directory: URL
        /// Image volumes with their label volume.
        public var volumes: Int
        public var subjects: Int
        /// Deliberately broken or unusable files written (fault injection).
        public var faults: [String]
    }

    static let firstNames = ["JANE", "JOHN", "ALEX", "MARIA", "SAM", "LEE", "NOOR", "IVAN", "ANA", "OMAR", "LIN", "EVA"]
    static let lastNames = ["DOE", "ROE", "SMITH", "GARCIA", "CHEN", "KHAN", "NOVAK", "SILVA", "MOORE", "TANAKA"]

    /// One volume to write: a subject and a session (a new pose of the same anatomy).
    struct Job: Sendable {
        var subject: Int
        var session: Int
        var image: String
        var label: String?
        var fault: Fault?
    }

    /// The faults a real export holds (site a, when faults are on), each an extra session of
    /// an existing subject so that the splits of the good volumes do not change.
    enum Fault: String, Sendable, CaseIterable {
        case truncatedImage = "truncated .nii.gz image"
        case labelShape = "label volume one slice short"
        case nanImage = "float32 image with NaN voxels"
        case complexImage = "complex64 image (unsupported datatype)"
        case fourD = "4D image (two volumes)"
        case unlistedLabel = "label volume with the unlisted value 3"
        case missingLabel = "image without a label volume"
        case shiftedLabel = "label volume shifted by 3 mm"

        /// Whether the fault is in the image (else in the label volume).
        var inImage: Bool {
            switch self {
            case .truncatedImage, .nanImage, .complexImage, .fourD, .missingLabel: return true
            case .labelShape, .unlistedLabel, .shiftedLabel: return false
            }
        }
    }

    /// Writes site `site` under `directory/site-<name>/`.
    /// - Parameters:
    ///   - subjects: subjects to write (at least 3); at site a the first half have two sessions.
    ///   - faults: add the broken and unusable files a real export contains (site a).
    public static func export(site: MRPhantomSite, to directory: URL, subjects: Int, seed: UInt64, faults: Bool = true,
                              workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                              progress: ProgressReporter.Mode = .automatic) throws -> Summary {
        precondition(subjects >= 3, "at least 3 subjects (train, val and test need one each)")
        let root = directory.appendingPathComponent("site-\(site.name)")
        try AtomicFile.ensureDirectory(root)
        var jobs: [Job] = []
        for subject in 0..<subjects {
            let sessions = site.layout == .bids && subject < subjects / 2 ? 2 : 1
            for session in 1...sessions {
                let (image, label) = paths(site: site, subject: subject, session: session, seed: seed)
                jobs.append(Job(subject: subject, session: session, image: image, label: label, fault: nil))
            }
        }
        var faultFiles: [String] = []
        if faults && site.name == "a" {
            for (k, fault) in Fault.allCases.enumerated() {
                let (image, label) = paths(site: site, subject: k % 3, session: 7 + k / 3, seed: seed)
                jobs.append(Job(subject: k % 3, session: 7 + k / 3, image: image, label: fault == .missingLabel ? nil : label, fault: fault))
                faultFiles.append("\(fault.inImage ? image : label): \(fault.rawValue)")
            }
            try AtomicFile.write(Data("Export notes: sessions 7 to 9 were flagged by the site's QA.\n".utf8), to: root.appendingPathComponent("README.txt"))
        }
        let reporter = ProgressReporter(label: "phantom mr site \(site.name)", total: jobs.count, unit: "volumes", mode: progress)
        let results: [Result<Void, Error>] = parallelMap(jobs.count, workers: workers) { index in
            defer { reporter.advance() }
            return Result { try write(jobs[index], site: site, root: root, seed: seed) }
        }
        reporter.finish()
        for result in results { try result.get() }
        try writeSiteFiles(site: site, root: root, jobs: jobs)
        return Summary(site: site.name, directory: root, volumes: jobs.filter { $0.fault == nil }.count, subjects: subjects, faults: faultFiles)
    }

    /// Image and label paths of a subject's session, relative to the site folder.
    static func paths(site: MRPhantomSite, subject: Int, session: Int, seed: UInt64) -> (String, String) {
        switch site.layout {
        case .bids:
            let id = String(format: "sub-A%03d", subject + 1)
            let stem = "\(id)_ses-\(session)_T1w"
            return ("\(id)/ses-\(session)/anat/\(stem).nii.gz", "derivatives/labels/\(id)/ses-\(session)/anat/\(stem)_humerus.nii.gz")
        case .nnunet:
            let id = String(format: "shoulderB_%03d", subject + 1)
            return ("imagesTr/\(id)_0000.nii.gz", "labelsTr/\(id).nii.gz")
        case .clinic:
            let person = clinicPerson(site: site, subject: subject, seed: seed)
            let folder = "\(person.last)_\(person.first)_\(person.birthDate)_\(subject + 1)/\(person.studyDate)"
            return ("\(folder)/dixon_water.nii", "\(folder)/scapula_mask.nii.gz")
        }
    }

    /// The person whose name and dates a clinic-layout site files a subject's volumes under.
    static func clinicPerson(site: MRPhantomSite, subject: Int, seed: UInt64) -> (first: String, last: String, birthDate: String, studyDate: String) {
        var generator = SeededGenerator(seed: EchoPhantomExporter.mix(seed, site.name, "person", subject))
        let first = firstNames[generator.nextInt(below: firstNames.count)]
        let last = lastNames[generator.nextInt(below: lastNames.count)]
        let birth = String(format: "%04d%02d%02d", 1940 + generator.nextInt(below: 60), 1 + generator.nextInt(below: 12), 1 + generator.nextInt(below: 28))
        let study = String(format: "%04d%02d%02d", 2023 + generator.nextInt(below: 2), 1 + generator.nextInt(below: 12), 1 + generator.nextInt(below: 28))
        return (first, last, birth, study)
    }

    /// Renders and writes one volume (and its label volume).
    static func write(_ job: Job, site: MRPhantomSite, root: URL, seed: UInt64) throws {
        var anatomyGenerator = SeededGenerator(seed: EchoPhantomExporter.mix(seed, site.name, "anatomy", job.subject))
        var subject = MRShoulderSubject.random(using: &anatomyGenerator)
        // Each session places the same anatomy anew.
        var poseGenerator = SeededGenerator(seed: EchoPhantomExporter.mix(seed, site.name, "pose", job.subject, job.session))
        let pose = MRShoulderSubject.random(using: &poseGenerator)
        subject.rotation = pose.rotation
        subject.translation = pose.translation
        subject.biasDirection = pose.biasDirection
        subject.biasStrength = pose.biasStrength
        var noiseGenerator = SeededGenerator(seed: EchoPhantomExporter.mix(seed, site.name, "noise", job.subject, job.session))
        let (intensities, structures) = render(site: site, subject: subject, noise: &noiseGenerator)
        let affine = site.affine
        let imageURL = root.appendingPathComponent(job.image)
        var shape = site.shape

        switch job.fault {
        case .nanImage:
            var values = intensities.map { Float($0 * site.intensityScale) }
            for k in stride(from: values.count / 3, to: values.count / 3 + 500, by: 1) { values[k] = .nan }
            try NiftiWriter.write(.float32(values), shape: shape, affine: affine, to: imageURL)
        case .complexImage:
            var data = Data(capacity: intensities.count * 8)
            for v in intensities { withUnsafeBytes(of: Float(v * site.intensityScale)) { data.append(contentsOf: $0) }; data.append(contentsOf: [0, 0, 0, 0]) }
            try NiftiWriter.write(.raw(datatype: 32, bytesPerVoxel: 8, data: data), shape: shape, affine: affine, to: imageURL)
        case .fourD:
            let values = intensities.map { Float($0 * site.intensityScale) }
            try NiftiWriter.write(.float32(values + values), shape: shape + [2], affine: affine, to: imageURL)
        default:
            try writeImage(intensities, site: site, affine: affine, to: imageURL)
        }
        if job.fault == .truncatedImage {
            let bytes = try Data(contentsOf: imageURL)
            try bytes.prefix(bytes.count / 2).write(to: imageURL)
        }

        guard let label = job.label else { return }
        var labelValues = [Int32](repeating: 0, count: structures.count)
        for (k, s) in structures.enumerated() {
            for (structure, value) in site.labels where (structure?.rawValue ?? 255) == Int(s) { labelValues[k] = Int32(value) }
        }
        var labelAffine = affine
        switch job.fault {
        case .labelShape:
            shape[2] -= 1
            labelValues = Array(labelValues.prefix(shape.reduce(1, *)))
        case .unlistedLabel:
            for k in stride(from: labelValues.count / 2, to: labelValues.count / 2 + 300, by: 1) { labelValues[k] = 3 }
        case .shiftedLabel:
            labelAffine[0, 3] += 3
        default: break
        }
        let labelURL = root.appendingPathComponent(label)
        if site.labelIsInt16 {
            try NiftiWriter.write(.int16(labelValues.map { Int16($0) }), shape: shape, affine: labelAffine, to: labelURL)
        } else {
            try NiftiWriter.write(.uint8(labelValues.map { UInt8($0) }), shape: shape, affine: labelAffine, to: labelURL)
        }
    }

    static func writeImage(_ intensities: [Double], site: MRPhantomSite, affine: Affine, to url: URL) throws {
        switch site.imageType {
        case .int16(let slope):
            var options = NiftiWriter.Options()
            options.slope = slope
            let values = intensities.map { Int16(max(-32768, min(32767, ($0 * site.intensityScale / slope).rounded()))) }
            try NiftiWriter.write(.int16(values), shape: site.shape, affine: affine, to: url, options: options)
        case .float32:
            try NiftiWriter.write(.float32(intensities.map { Float($0 * site.intensityScale) }), shape: site.shape, affine: affine, to: url)
        case .uint16:
            let values = intensities.map { UInt16(max(0, min(65535, ($0 * site.intensityScale).rounded()))) }
            try NiftiWriter.write(.uint16(values), shape: site.shape, affine: affine, to: url)
        }
    }

    /// Tissue intensities (x fastest) with bias field and Rician noise, and structures.
    static func render(site: MRPhantomSite, subject: MRShoulderSubject, noise: inout SeededGenerator) -> ([Double], [UInt8]) {
        let affine = site.affine
        let (nx, ny, nz) = (site.shape[0], site.shape[1], site.shape[2])
        var intensities = [Double](repeating: 0, count: nx * ny * nz)
        var structures = [UInt8](repeating: 0, count: nx * ny * nz)
        var index = 0
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let world = affine.apply((Double(i), Double(j), Double(k)))
                    let (tissue, structure) = subject.classify(subject.toSubject(world))
                    let clean = MRShoulderSubject.intensity(tissue, sequence: site.sequence) * subject.bias(world)
                    // Rician magnitude noise: |clean + n1 + i n2|.
                    let (n1, n2) = gaussianPair(&noise)
                    let real = clean + site.noise * n1, imaginary = site.noise * n2
                    intensities[index] = (real * real + imaginary * imaginary).squareRoot()
                    structures[index] = UInt8(structure.rawValue)
                    index += 1
                }
            }
        }
        return (intensities, structures)
    }

    /// Two independent standard normal values (Box-Muller).
    static func gaussianPair(_ generator: inout SeededGenerator) -> (Double, Double) {
        let u = max(generator.nextUnit(), 1e-300), v = generator.nextUnit()
        let r = (-2 * log(u)).squareRoot()
        return (r * cos(2 * .pi * v), r * sin(2 * .pi * v))
    }

    /// What else the site's export holds: BIDS participants list, the nnU-Net site's own
    /// dataset.json, a clinic's export notes.
    static func writeSiteFiles(site: MRPhantomSite, root: URL, jobs: [Job]) throws {
        switch site.layout {
        case .bids:
            let subjects = Set(jobs.map(\.subject)).sorted()
            let rows = subjects.map { String(format: "sub-A%03d\tn/a", $0 + 1) }.joined(separator: "\n")
            try AtomicFile.write(Data("participant_id\tage\n\(rows)\n".utf8), to: root.appendingPathComponent("participants.tsv"))
        case .nnunet:
            let text = """
            {"channel_names": {"0": "T1"}, "labels": {"background": 0, "scapula": 1}, "numTraining": \(jobs.count), "file_ending": ".nii.gz"}

            """
            try AtomicFile.write(Data(text.utf8), to: root.appendingPathComponent("dataset.json"))
        case .clinic:
            try AtomicFile.write(Data("Exported by the PACS of phantom site c (water-saturated Dixon, scapula masks; 5 marks joint effusion).\n".utf8),
                                 to: root.appendingPathComponent("EXPORT-NOTES.txt"))
        }
    }
}
