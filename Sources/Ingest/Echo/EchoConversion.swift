import ArrayFiles
import Console
import Datasets
import DicomIO
import Foundation
import Support

/// `medcil convert echo`: a site's DICOM export -> normalized `.npy` shards with canonical
/// labels, `dataset.json`, `manifest.csv` and a report that accounts for every input file.
///
/// Phases: scan headers (labels, patients) -> resolve labels (fail closed on unmapped ones)
/// -> split by patient -> convert cines in parallel (skipping those a previous run already
/// converted) -> write shards, manifest, statistics and report atomically. The skeleton
/// (`ConversionSkeleton`) runs the phases; this type says what they mean for echo cines.
public struct EchoConversion: DatasetConverter {
    public let config: EchoConverterConfig
    public let request: ConversionRequest

    public init(config: EchoConverterConfig, request: ConversionRequest) {
        self.config = config
        self.request = request
    }

    public static let vocabulary = ConversionVocabulary(label: "convert echo", unit: "file", work: "frames decoded", workCounter: "frames")

    /// The scanned export: every file with its header facts, the fates settled before
    /// conversion, and the cines to convert with their labels and splits.
    public struct Plan {
        struct Eligible {
            var index: Int
            var label: Int
            var name: String
        }

        let taxonomy: Taxonomy
        let labelMap: LabelMap
        let privacy: PathPrivacy
        /// What identifies a patient in any file's header: every path is scrubbed with all of it.
        let tokens: IdentifyingTokens
        let scanned: [ScannedFile]
        let fates: [FileFate?]
        let unmapped: [String: Int]
        let ignored: [String: Int]
        let eligible: [Eligible]
        let assignment: [String: String]
        let processor: EchoCineProcessor
        let innerWorkers: Int
    }

    // MARK: - plan

    public static let kind = "echo"

    /// 1. Every file's header (pixel data stays on disk) and raw label.
    public func scan() throws -> [ScannedFile] {
        let labelReader = try LabelReader(spec: config.label, inputRoot: request.inputRoot)
        try DicomLibrary.ensureInitialized()
        let inputs = try InputScanner.scan(root: request.inputRoot, spec: config.input)
        let scanProgress = ProgressReporter(label: "scan headers", total: inputs.count, unit: "files", mode: request.progressMode)
        let scanned: [ScannedFile] = parallelMap(inputs.count, workers: request.workers) { index in
            let input = inputs[index]
            defer { scanProgress.advance() }
            if input.excludedBecause != nil {
                return ScannedFile(input: input, failure: nil, rawLabel: nil, patientKey: "", patientKeySource: "",
                                   studyUID: nil, seriesUID: nil, sopUID: nil, identifyingTokens: [])
            }
            return HeaderScan.scan(input, labels: labelReader, limits: config.limits)
        }
        scanProgress.finish()
        return scanned
    }

    public func plan(from scanned: [ScannedFile], in workspace: ConversionWorkspace) throws -> Plan {
        let taxonomy = try Taxonomy.load(from: request.resolve(config.taxonomy))
        let labelMap = try LabelMap(raw: config.labelMap, taxonomy: taxonomy)
        let privacy = PathPrivacy(mode: config.privacy.sourcePaths, hasher: workspace.hasher)
        let tokens = IdentifyingTokens(scanned.flatMap(\.identifyingTokens))

        // 2. Labels.
        var fates = [FileFate?](repeating: nil, count: scanned.count)
        var unmapped: [String: Int] = [:]
        var ignored: [String: Int] = [:]
        var eligible: [Plan.Eligible] = []
        var seenSOP: [String: String] = [:]
        for (index, file) in scanned.enumerated() {
            let source = privacy.render(file.input.relativePath, tokens: tokens)
            func fate(_ outcome: FileFate.Outcome, _ reason: String?, label: String? = nil) {
                fates[index] = FileFate(source: source, outcome: outcome, reason: reason, rawLabel: file.rawLabel,
                                        canonicalClass: label, split: nil, samples: 0, framesDecoded: 0, region: nil, mask: nil)
            }
            if let excluded = file.input.excludedBecause { fate(.excluded, excluded); continue }
            if let failure = file.failure { fate(.failed, failure); continue }
            let raw = file.rawLabel ?? ""
            switch labelMap.resolve(raw) {
            case .unmapped:
                unmapped[raw, default: 0] += 1
                fate(.unmappedLabel, "raw label '\(raw)' is not in the label map (unmapped: \(config.unmapped.rawValue))")
            case .ignored:
                ignored[raw, default: 0] += 1
                fate(.ignoredLabel, "raw label '\(raw)' is mapped to IGNORE")
            case .mapped(let classIndex, let name):
                if let sop = file.sopUID, let first = seenSOP[sop] {
                    fate(.skipped, "duplicate of \(first) (same SOPInstanceUID)", label: name)
                    continue
                }
                if let sop = file.sopUID { seenSOP[sop] = source }
                eligible.append(.init(index: index, label: classIndex, name: name))
            }
        }
        if !unmapped.isEmpty && config.unmapped == .error {
            throw IngestError.unmappedLabels(unmapped)
        }

        // 3. Splits by patient.
        var patientClasses: [String: [Int: Int]] = [:]
        for item in eligible { patientClasses[scanned[item.index].patientKey, default: [:]][item.label, default: 0] += 1 }
        let assignment = SplitAssigner.assign(patientClasses.map { SplitAssigner.Patient(key: $0.key, classCounts: $0.value) },
                                              spec: config.split)
        let workers = request.workers
        return Plan(taxonomy: taxonomy, labelMap: labelMap, privacy: privacy, tokens: tokens, scanned: scanned, fates: fates, unmapped: unmapped,
                    ignored: ignored, eligible: eligible, assignment: assignment,
                    processor: EchoCineProcessor(geometry: config.geometry, frames: config.frames, limits: config.limits),
                    innerWorkers: max(1, workers / max(1, min(workers, eligible.count))))
    }

    public func unitCount(_ plan: Plan) -> Int { plan.eligible.count }

    /// A cine stays with its patient; its work is frames x pixels from the header.
    public func partitionKey(unit: Int, plan: Plan) -> (group: String, work: Int) {
        let file = plan.scanned[plan.eligible[unit].index]
        return (file.patientKey, file.estimatedWork)
    }

    public func storedFailure(_ error: any Error) -> StoredUnitFailure {
        StoredUnitFailure(reason: "\(error)", category: error is EchoCineProcessor.Skip ? "skip" : "error")
    }

    /// `finish` tells skipped from failed cines by the error's type, and prints its text.
    public func restoredError(_ failure: StoredUnitFailure) -> any Error {
        failure.category == "skip" ? EchoCineProcessor.Skip(description: failure.reason) : RestoredUnitError(description: failure.reason)
    }

    public func work(_ record: ConversionRecord) -> Int { record.framesDecoded }

    // MARK: - one cine

    /// The cine's sample ids start with a salted hash of its SOPInstanceUID (else its path).
    private func idBase(_ file: ScannedFile, hasher: SaltedHasher) -> String {
        hasher.hash(file.sopUID ?? ("path:" + file.input.relativePath), kind: "sop", length: 12)
    }

    public func resumeKey(unit: Int, plan: Plan, workspace: ConversionWorkspace) -> (key: String, fingerprint: String) {
        let item = plan.eligible[unit]
        let file = plan.scanned[item.index]
        let key = workspace.hasher.hash(file.input.relativePath, kind: "record", length: 20)
        return (key, Self.fingerprint(config: config, file: file.input, source: workspace.hasher.sourcePath(file.input.relativePath),
                                      label: item.label, split: plan.assignment[file.patientKey]!, idBase: idBase(file, hasher: workspace.hasher)))
    }

    public func convert(unit: Int, plan: Plan, key: String, fingerprint: String, workspace: ConversionWorkspace) throws -> ConversionRecord {
        let item = plan.eligible[unit]
        let file = plan.scanned[item.index]
        let split = plan.assignment[file.patientKey]!
        let label = item.label
        let idBase = idBase(file, hasher: workspace.hasher)
        let output = try plan.processor.process(path: file.input.url.path, innerWorkers: plan.innerWorkers)
        var samples: [ConversionRecord.Sample] = []
        let shape = config.sampleShape
        let splitDir = workspace.datasetDirectory.appendingPathComponent(split)
        var staged: [[UInt8]] = []
        for (k, frames) in output.sampleFrames.enumerated() {
            let pixels = output.samples[k]
            let id = idBase + (config.frames.mode == .clips ? String(format: "-c%04d", frames[0]) : String(format: "-f%04d", frames[0]))
            var sum: UInt64 = 0, sumSquares: UInt64 = 0
            for v in pixels { sum += UInt64(v); sumSquares += UInt64(v) * UInt64(v) }
            precondition(pixels.count == shape.reduce(1, *))
            var sample = ConversionRecord.Sample(id: id, frames: frames, sum: sum, sumSquares: sumSquares, file: nil, packed: nil)
            if config.output.layout == .files {
                let name = "\(id)_\(label).npy"
                try Self.array(pixels, shape: shape, dtype: config.output.dtype).write(to: splitDir.appendingPathComponent(name))
                sample.file = "\(split)/\(name)"
            } else {
                staged.append(pixels)
                sample.packed = ConversionRecord.PackedLocation(file: "staging/\(key).npy", index: k, staging: true)
            }
            samples.append(sample)
        }
        if config.output.layout == .packed {
            let all = staged.flatMap { $0 }
            try Self.array(all, shape: [staged.count] + shape, dtype: config.output.dtype)
                .write(to: workspace.stateDirectory.appendingPathComponent("staging").appendingPathComponent(key + ".npy"))
        }
        return ConversionRecord(fingerprint: fingerprint, key: key, source: workspace.hasher.sourcePath(file.input.relativePath), split: split, label: label,
                                samples: samples, region: output.region, mask: output.mask, frameCount: output.frameCount,
                                framesDecoded: output.framesDecoded, rows: output.rows, columns: output.columns)
    }

    /// A sample as stored: uint8 grey levels, or float32 in 0...1.
    static func array(_ pixels: [UInt8], shape: [Int], dtype: OutputSpec.DType) throws -> NpyArray {
        switch dtype {
        case .uint8: return try NpyArray(pixels, shape: shape)
        case .float32: return try NpyArray(pixels.map { Float($0) / 255 }, shape: shape)
        }
    }

    /// Everything that determines a file's samples.
    /// - Parameter source: the salted hash of the file's path (the record holds no clear path).
    static func fingerprint(config: EchoConverterConfig, file: InputFile, source: String, label: Int, split: String, idBase: String) -> String {
        struct Key: Encodable {
            var format = 1
            var geometry: GeometrySpec
            var frames: FrameSpec
            var dtype: String
            var layout: String
            var source: String
            var size: Int64
            var modified: Double
            var label: Int
            var split: String
            var id: String
        }
        let key = Key(geometry: config.geometry, frames: config.frames, dtype: config.output.dtype.rawValue,
                      layout: config.output.layout.rawValue, source: source, size: file.size,
                      modified: file.modified, label: label, split: split, id: idBase)
        return ResumeRecords.fingerprint(key)
    }

    // MARK: - finish

    typealias Converted = (record: ConversionRecord, scanned: ScannedFile, name: String)

    public func finish(plan: Plan, outcomes: [UnitOutcome<ConversionRecord>],
                       workspace: ConversionWorkspace) throws -> ConversionResult<EchoDatasetDescription, ConversionReport> {
        // Fates and records in input order.
        var fates = plan.fates
        var records: [Converted] = []
        for (k, item) in plan.eligible.enumerated() {
            let outcome = outcomes[k]
            let file = plan.scanned[item.index]
            var fate = FileFate(source: plan.privacy.render(file.input.relativePath, tokens: plan.tokens),
                                outcome: .converted, reason: nil, rawLabel: file.rawLabel,
                                canonicalClass: item.name, split: nil, samples: 0, framesDecoded: 0, region: nil, mask: nil)
            if let record = outcome.record {
                fate.split = record.split
                fate.samples = record.samples.count
                fate.region = record.region
                fate.mask = record.mask
                fate.framesDecoded = record.framesDecoded
                records.append((record, file, item.name))
            } else {
                fate.outcome = outcome.error is EchoCineProcessor.Skip ? .skipped : .failed
                fate.reason = outcome.error.map { "\($0)" }
            }
            fates[item.index] = fate
        }

        // Layout-specific outputs.
        if config.output.layout == .packed {
            records = try PackedLayout(config: config, workspace: workspace).pack(records)
        }
        let finalFates = fates.map { $0! }
        let description = describe(records: records, taxonomy: plan.taxonomy, labelMap: plan.labelMap, patients: plan.assignment)
        let report = makeReport(fates: finalFates, unmapped: plan.unmapped, ignored: plan.ignored, description: description)
        return ConversionResult(
            description: description, report: report,
            manifest: manifest(records: records, privacy: plan.privacy, tokens: plan.tokens, hasher: workspace.hasher),
            keep: Set(records.flatMap { entry in entry.record.samples.compactMap { $0.file ?? $0.packed?.file } }),
            keepNames: config.output.layout == .packed ? ["labels.npy"] : [],
            reportText: Self.reportText(description: description, report: report),
            throughputUnits: report.totals["seen"] ?? 0,
            notConverted: (report.totals["failed"] ?? 0) + (report.totals["skipped"] ?? 0))
    }

    /// The part of the summary that the inputs determine (also written to report.txt).
    static func reportText(description: EchoDatasetDescription, report: ConversionReport) -> String {

        var lines: [String] = []
        let t = report.totals
        lines.append("site \(report.site) -> \(description.dataset)")
        lines.append("  files: \(t["seen"] ?? 0) seen, \(t["converted"] ?? 0) converted, " +
            "\(t["excluded"] ?? 0) excluded, \(t["ignored-label"] ?? 0) ignored label, \(t["unmapped-label"] ?? 0) unmapped label, " +
            "\(t["skipped"] ?? 0) skipped, \(t["failed"] ?? 0) failed")
        let splits = SplitAssigner.splitNames
        lines.append("  samples: " + splits.map { "\($0) \(description.splits[$0]?.samples ?? 0)" }.joined(separator: ", ") +
            "  (patients: " + splits.map { "\($0) \(description.splits[$0]?.patients ?? 0)" }.joined(separator: ", ") + ")")
        var table = TextTable(header: ["class", "index"] + splits, rightAligned: [1, 2, 3, 4])
        for name in description.siteClasses {
            table.add([name, String(description.classes[name] ?? -1)] + splits.map { String(description.splits[$0]?.perClass[name] ?? 0) })
        }
        lines.append(table.render(indent: "    "))
        lines.append(String(format: "  intensity (train, x/255): mean %.4f, std %.4f", description.normalization.mean, description.normalization.std))
        let problems = report.files.filter { $0.outcome == .failed || $0.outcome == .skipped }
        if !problems.isEmpty {
            lines.append("  not converted:")
            for fate in problems.prefix(20) { lines.append("    \(fate.source): \(fate.outcome.rawValue): \(fate.reason ?? "")") }
            if problems.count > 20 { lines.append("    ... \(problems.count - 20) more in report.json") }
        }
        return lines.joined(separator: "\n")
    }

    private func describe(records: [Converted], taxonomy: Taxonomy,
                          labelMap: LabelMap, patients: [String: String]) -> EchoDatasetDescription {
        var splits: [String: EchoDatasetDescription.SplitCounts] = [:]
        var patientSets: [String: Set<String>] = [:]
        var sum: UInt64 = 0, sumSquares: UInt64 = 0, pixelCount: UInt64 = 0
        let frameSize = UInt64(config.geometry.height * config.geometry.width)
        for entry in records {
            let split = entry.record.split
            var counts = splits[split] ?? .init(samples: 0, sourceFiles: 0, patients: 0, perClass: [:])
            counts.samples += entry.record.samples.count
            counts.sourceFiles += 1
            counts.perClass[entry.name, default: 0] += entry.record.samples.count
            splits[split] = counts
            patientSets[split, default: []].insert(entry.scanned.patientKey)
            if split == "train" {
                for sample in entry.record.samples {
                    sum += sample.sum
                    sumSquares += sample.sumSquares
                    pixelCount += frameSize * UInt64(sample.frames.count)
                }
            }
        }
        for (split, set) in patientSets { splits[split]?.patients = set.count }
        for split in SplitAssigner.splitNames where splits[split] == nil {
            splits[split] = .init(samples: 0, sourceFiles: 0, patients: 0, perClass: [:])
        }
        let n = Double(max(pixelCount, 1))
        let mean = Double(sum) / n / 255
        let meanSquare = Double(sumSquares) / n / (255 * 255)
        let std = (max(meanSquare - mean * mean, 0)).squareRoot()
        var classes: [String: Int] = [:]
        for entry in taxonomy.classes { classes[entry.name] = entry.index }
        return EchoDatasetDescription(
            site: config.site, dataset: config.dataset,
            taxonomy: DatasetTaxonomy(taxonomy),
            classes: classes, siteClasses: labelMap.targetClasses, labelMap: config.labelMap,
            image: .init(height: config.geometry.height, width: config.geometry.width, framesPerSample: config.framesPerSample,
                         dtype: config.output.dtype.rawValue, layout: config.output.layout.rawValue, sampleShape: config.sampleShape,
                         valueRange: config.output.dtype == .uint8 ? [0, 255] : [0, 1]),
            splits: splits,
            normalization: .init(scale: config.output.dtype == .uint8 ? "x / 255" : "x", mean: DescriptionParts.round6(mean), std: DescriptionParts.round6(std), computedOn: "train"),
            split: DatasetSplitSettings(config.split, groupedBy: "patient (PatientID, else StudyInstanceUID, else the file)"),
            configDigest: DescriptionParts.configDigest(config), createdBy: DescriptionParts.createdBy)
    }

    private func manifest(records: [Converted], privacy: PathPrivacy, tokens: IdentifyingTokens,
                          hasher: SaltedHasher) -> String {
        let header = ["id", "split", "label", "class", "raw_label", "site", "source", "patient", "study", "series", "sop",
                      "frames", "region", "mask", "file", "index"]
        var rows: [[String]] = []
        for entry in records {
            let s = entry.scanned
            let hashed = { (value: String?, kind: String) -> String in value.map { hasher.hash($0, kind: kind) } ?? "" }
            for sample in entry.record.samples {
                rows.append([sample.id, entry.record.split, String(entry.record.label), entry.name, s.rawLabel ?? "", config.site,
                             privacy.render(s.input.relativePath, tokens: tokens), hasher.hash(s.patientKey, kind: "patient"),
                             hashed(s.studyUID, "study"), hashed(s.seriesUID, "series"), hashed(s.sopUID, "sop-uid"),
                             sample.frames.map(String.init).joined(separator: ";"), entry.record.region, entry.record.mask,
                             sample.file ?? sample.packed?.file ?? "", sample.packed.map { String($0.index) } ?? ""])
            }
        }
        return CSVTable.render(header: header, rows: rows)
    }

    private func makeReport(fates: [FileFate], unmapped: [String: Int], ignored: [String: Int],
                            description: EchoDatasetDescription) -> ConversionReport {
        var totals: [String: Int] = ["seen": fates.count]
        for fate in fates { totals[fate.outcome.rawValue, default: 0] += 1 }
        return ConversionReport(site: config.site, dataset: config.dataset, files: fates, totals: totals,
                                unmappedLabels: unmapped, ignoredLabels: ignored,
                                samplesPerSplit: description.splits.mapValues(\.samples))
    }
}
