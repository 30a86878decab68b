import ArrayFiles
import Console
import DicomIO
import Foundation

/// `medcil convert echo`: a site's DICOM export -> normalized `.npy` shards with canonical
/// labels, `dataset.json`, `manifest.csv` and a report that accounts for every input file.
///
/// Phases: scan headers (labels, patients) -> resolve labels (fail closed on unmapped ones)
/// -> split by patient -> convert cines in parallel (skipping those a previous run already
/// converted) -> write shards, manifest, statistics and report atomically.
public final class EchoConversion {
    public let config: EchoConverterConfig
    public let configURL: URL
    public let inputRoot: URL
    public let outputRoot: URL
    public let workers: Int
    public let progressMode: ProgressReporter.Mode

    public init(config: EchoConverterConfig, configURL: URL, inputRoot: URL, outputRoot: URL,
                workers: Int, progressMode: ProgressReporter.Mode = .automatic) {
        self.config = config
        self.configURL = configURL
        self.inputRoot = inputRoot
        self.outputRoot = outputRoot
        self.workers = max(1, workers)
        self.progressMode = progressMode
    }

    /// The outcome of a run, for printing and tests.
    public struct Summary: Sendable {
        public var datasetDirectory: URL
        public var description: EchoDatasetDescription
        public var report: ConversionReport
        public var seconds: Double
        public var framesDecoded: Int
        public var filesConverted: Int
        public var filesReused: Int
        public var prunedOutputs: Int

        /// The part of the summary that the inputs determine (also written to report.txt).
        public var reportText: String {
            var lines: [String] = []
            let t = report.totals
            lines.append("site \(report.site) -> \(description.dataset)")
            lines.append("  files: \(t["seen"] ?? 0) seen, \(t["converted"] ?? 0) converted, " +
                "\(t["excluded"] ?? 0) excluded, \(t["ignored-label"] ?? 0) ignored label, \(t["unmapped-label"] ?? 0) unmapped label, " +
                "\(t["skipped"] ?? 0) skipped, \(t["failed"] ?? 0) failed")
            let splits = ["train", "val", "test"]
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

        /// The report text plus what this run did (reuse, pruning, throughput).
        public var text: String {
            var lines = [reportText]
            lines.append("  this run: \(filesConverted) file\(filesConverted == 1 ? "" : "s") converted, \(filesReused) reused from an earlier run" +
                (prunedOutputs > 0 ? ", \(prunedOutputs) stale output file\(prunedOutputs == 1 ? "" : "s") removed" : ""))
            let seen = max(report.totals["seen"] ?? 0, 1)
            lines.append(String(format: "  throughput: %d files in %.2f s (%@ files/s), %d frames decoded (%@ frames/s)",
                                seen, seconds, ProgressReporter.rate(Double(seen) / max(seconds, 1e-9)),
                                framesDecoded, ProgressReporter.rate(Double(framesDecoded) / max(seconds, 1e-9))))
            lines.append("  outputs: \(datasetDirectory.path)")
            return lines.joined(separator: "\n")
        }
    }

    // MARK: - run

    public func run() throws -> Summary {
        let started = Date()
        let taxonomyURL = URL(fileURLWithPath: config.taxonomy, relativeTo: configURL.deletingLastPathComponent()).standardizedFileURL
        let taxonomy = try Taxonomy.load(from: taxonomyURL)
        let labelMap = try LabelMap(raw: config.labelMap, taxonomy: taxonomy)
        let labelReader = try LabelReader(spec: config.label, inputRoot: inputRoot)
        try DicomLibrary.ensureInitialized()

        let datasetDir = outputRoot.appendingPathComponent(config.dataset)
        let stateDir = outputRoot.appendingPathComponent(".medcil").appendingPathComponent(config.dataset)
        try AtomicFile.ensureDirectory(datasetDir)
        try AtomicFile.ensureDirectory(stateDir.appendingPathComponent("records"))
        AtomicFile.removeStaleTemporaries(in: datasetDir)
        AtomicFile.removeStaleTemporaries(in: stateDir)
        let saltURL = config.privacy.saltFile.map { URL(fileURLWithPath: $0) }
            ?? outputRoot.appendingPathComponent(".medcil").appendingPathComponent("salt")
        let hasher = SaltedHasher(salt: try SaltedHasher.loadOrCreateSalt(at: saltURL))
        let privacy = PathPrivacy(mode: config.privacy.sourcePaths, hasher: hasher)

        // 1. Scan.
        let inputs = try InputScanner.scan(root: inputRoot, spec: config.input)
        let scanProgress = ProgressReporter(label: "scan headers", total: inputs.count, unit: "files", mode: progressMode)
        let scanned: [ScannedFile] = parallelMap(inputs.count, workers: workers) { index in
            let input = inputs[index]
            defer { scanProgress.advance() }
            if input.excludedBecause != nil {
                return ScannedFile(input: input, failure: nil, rawLabel: nil, patientKey: "", patientKeySource: "",
                                   studyUID: nil, seriesUID: nil, sopUID: nil, identifyingTokens: [])
            }
            return HeaderScan.scan(input, labels: labelReader)
        }
        scanProgress.finish()

        // 2. Labels.
        var fates = [FileFate?](repeating: nil, count: scanned.count)
        var unmapped: [String: Int] = [:]
        var ignored: [String: Int] = [:]
        var eligible: [(index: Int, label: Int, name: String)] = []
        var seenSOP: [String: String] = [:]
        for (index, file) in scanned.enumerated() {
            let source = privacy.render(file.input.relativePath, tokens: file.identifyingTokens)
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
                eligible.append((index, classIndex, name))
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

        // 4. Convert.
        let processor = EchoCineProcessor(geometry: config.geometry, frames: config.frames)
        let innerWorkers = max(1, workers / max(1, min(workers, eligible.count)))
        let convertProgress = ProgressReporter(label: "convert echo", total: eligible.count, unit: "files", mode: progressMode)
        let outcomes: [CineOutcome] = parallelMap(eligible.count, workers: workers) { k in
            let item = eligible[k]
            let file = scanned[item.index]
            let split = assignment[file.patientKey]!
            let outcome = self.convertOne(file: file, label: item.label, split: split, processor: processor,
                                          innerWorkers: innerWorkers, hasher: hasher, datasetDir: datasetDir, stateDir: stateDir)
            convertProgress.advance(counters: ["frames": Double(outcome.record?.framesDecoded ?? 0)])
            return outcome
        }
        convertProgress.finish()

        // 5. Assemble: fates, records in input order.
        var records: [(record: ConversionRecord, scanned: ScannedFile, name: String)] = []
        var framesDecoded = 0, converted = 0, reused = 0
        for (k, item) in eligible.enumerated() {
            let outcome = outcomes[k]
            let file = scanned[item.index]
            var fate = fates[item.index] ?? FileFate(source: privacy.render(file.input.relativePath, tokens: file.identifyingTokens),
                                                     outcome: .converted, reason: nil, rawLabel: file.rawLabel,
                                                     canonicalClass: item.name, split: nil, samples: 0, framesDecoded: 0, region: nil, mask: nil)
            fate.canonicalClass = item.name
            if let record = outcome.record {
                fate.outcome = .converted
                fate.split = record.split
                fate.samples = record.samples.count
                fate.region = record.region
                fate.mask = record.mask
                fate.framesDecoded = record.framesDecoded
                if outcome.reused { reused += 1 } else { framesDecoded += record.framesDecoded }
                converted += 1
                records.append((record, file, item.name))
            } else {
                fate.outcome = outcome.skipped ? .skipped : .failed
                fate.reason = outcome.reason
            }
            fates[item.index] = fate
        }

        // 6. Layout-specific outputs.
        if config.output.layout == .packed {
            records = try PackedLayout(config: config, datasetDir: datasetDir, stateDir: stateDir).pack(records)
        }
        let pruned = pruneStaleOutputs(datasetDir: datasetDir, keep: Set(records.flatMap { entry in
            entry.record.samples.compactMap { $0.file ?? $0.packed?.file }
        }))

        // 7. Descriptions.
        let finalFates = fates.map { $0! }
        let description = describe(records: records, taxonomy: taxonomy, labelMap: labelMap, patients: assignment)
        let report = makeReport(fates: finalFates, unmapped: unmapped, ignored: ignored, description: description)
        try AtomicFile.write(try StableJSON.encode(description), to: datasetDir.appendingPathComponent("dataset.json"))
        try AtomicFile.write(Data(manifest(records: records, privacy: privacy, hasher: hasher).utf8),
                             to: datasetDir.appendingPathComponent("manifest.csv"))
        try AtomicFile.write(try StableJSON.encode(report), to: datasetDir.appendingPathComponent("report.json"))
        try AtomicFile.write(Data(try ConfigLoader.yaml(config).utf8), to: datasetDir.appendingPathComponent("config.resolved.yaml"))
        var summary = Summary(datasetDirectory: datasetDir, description: description, report: report,
                              seconds: Date().timeIntervalSince(started), framesDecoded: framesDecoded,
                              filesConverted: converted - reused, filesReused: reused, prunedOutputs: pruned)
        summary.seconds = Date().timeIntervalSince(started)
        try AtomicFile.write(Data((summary.reportText + "\n").utf8), to: datasetDir.appendingPathComponent("report.txt"))
        return summary
    }

    // MARK: - one cine

    struct CineOutcome {
        var record: ConversionRecord?
        var reused = false
        var skipped = false
        var reason: String?
    }

    private func convertOne(file: ScannedFile, label: Int, split: String, processor: EchoCineProcessor, innerWorkers: Int,
                            hasher: SaltedHasher, datasetDir: URL, stateDir: URL) -> CineOutcome {
        let idBase = hasher.hash(file.sopUID ?? ("path:" + file.input.relativePath), kind: "sop", length: 12)
        let recordKey = hasher.hash(file.input.relativePath, kind: "record", length: 20)
        let recordURL = stateDir.appendingPathComponent("records").appendingPathComponent(recordKey + ".json")
        let fingerprint = Self.fingerprint(config: config, file: file.input, label: label, split: split, idBase: idBase)
        if let data = try? Data(contentsOf: recordURL),
           let record = try? JSONDecoder().decode(ConversionRecord.self, from: data),
           record.fingerprint == fingerprint,
           record.samples.allSatisfy({ sample in
               let path = sample.file ?? sample.packed.map { $0.staging ? "../.medcil/\(config.dataset)/\($0.file)" : $0.file } ?? ""
               return FileManager.default.fileExists(atPath: datasetDir.appendingPathComponent(path).path)
           }) {
            return CineOutcome(record: record, reused: true)
        }
        do {
            let output = try processor.process(path: file.input.url.path, innerWorkers: innerWorkers)
            var samples: [ConversionRecord.Sample] = []
            let frameSize = config.geometry.height * config.geometry.width
            let shape = config.frames.mode == .clips
                ? [config.frames.framesPerSample, config.geometry.height, config.geometry.width]
                : [config.geometry.height, config.geometry.width]
            let splitDir = datasetDir.appendingPathComponent(split)
            var staged: [[UInt8]] = []
            for (k, frames) in output.sampleFrames.enumerated() {
                let pixels = output.samples[k]
                let id = idBase + (config.frames.mode == .clips ? String(format: "-c%04d", frames[0]) : String(format: "-f%04d", frames[0]))
                var sum: UInt64 = 0, sumSquares: UInt64 = 0
                for v in pixels { sum += UInt64(v); sumSquares += UInt64(v) * UInt64(v) }
                precondition(pixels.count == frames.count * frameSize)
                var sample = ConversionRecord.Sample(id: id, frames: frames, sum: sum, sumSquares: sumSquares, file: nil, packed: nil)
                if config.output.layout == .files {
                    let name = "\(id)_\(label).npy"
                    try Self.array(pixels, shape: shape, dtype: config.output.dtype).write(to: splitDir.appendingPathComponent(name))
                    sample.file = "\(split)/\(name)"
                } else {
                    staged.append(pixels)
                    sample.packed = ConversionRecord.PackedLocation(file: "staging/\(recordKey).npy", index: k, staging: true)
                }
                samples.append(sample)
            }
            if config.output.layout == .packed {
                let all = staged.flatMap { $0 }
                try Self.array(all, shape: [staged.count] + shape, dtype: config.output.dtype)
                    .write(to: stateDir.appendingPathComponent("staging").appendingPathComponent(recordKey + ".npy"))
            }
            let record = ConversionRecord(fingerprint: fingerprint, key: recordKey, source: file.input.relativePath, split: split, label: label,
                                          samples: samples, region: output.region, mask: output.mask, frameCount: output.frameCount,
                                          framesDecoded: output.framesDecoded, rows: output.rows, columns: output.columns)
            try AtomicFile.write(try StableJSON.encode(record), to: recordURL)
            return CineOutcome(record: record)
        } catch let skip as EchoCineProcessor.Skip {
            return CineOutcome(skipped: true, reason: skip.description)
        } catch {
            return CineOutcome(reason: "\(error)")
        }
    }

    /// A sample as stored: uint8 grey levels, or float32 in 0...1.
    static func array(_ pixels: [UInt8], shape: [Int], dtype: OutputSpec.DType) throws -> NpyArray {
        switch dtype {
        case .uint8: return try NpyArray(pixels, shape: shape)
        case .float32: return try NpyArray(pixels.map { Float($0) / 255 }, shape: shape)
        }
    }

    /// Everything that determines a file's samples.
    static func fingerprint(config: EchoConverterConfig, file: InputFile, label: Int, split: String, idBase: String) -> String {
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
                      layout: config.output.layout.rawValue, source: file.relativePath, size: file.size,
                      modified: file.modified, label: label, split: split, id: idBase)
        let data = (try? StableJSON.encode(key)) ?? Data()
        return SHA256.hex(SHA256.hash(Array(data)))
    }

    // MARK: - outputs

    /// Removes `.npy` outputs in the split folders that the current input no longer produces
    /// (a source was removed or moved to another split). Returns how many were removed.
    private func pruneStaleOutputs(datasetDir: URL, keep: Set<String>) -> Int {
        var removed = 0
        for split in ["train", "val", "test"] {
            let folder = datasetDir.appendingPathComponent(split)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names where name.hasSuffix(".npy") && !keep.contains("\(split)/\(name)") {
                if config.output.layout == .packed && name == "labels.npy" { continue }
                if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed += 1 }
            }
        }
        return removed
    }

    private func describe(records: [(record: ConversionRecord, scanned: ScannedFile, name: String)], taxonomy: Taxonomy,
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
        for split in ["train", "val", "test"] where splits[split] == nil {
            splits[split] = .init(samples: 0, sourceFiles: 0, patients: 0, perClass: [:])
        }
        let n = Double(max(pixelCount, 1))
        let mean = Double(sum) / n / 255
        let meanSquare = Double(sumSquares) / n / (255 * 255)
        let std = (max(meanSquare - mean * mean, 0)).squareRoot()
        func round6(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }
        let fpS = config.frames.mode == .clips ? config.frames.framesPerSample : 1
        let sampleShape = fpS > 1 ? [fpS, config.geometry.height, config.geometry.width] : [config.geometry.height, config.geometry.width]
        var classes: [String: Int] = [:]
        for entry in taxonomy.classes { classes[entry.name] = entry.index }
        // Digest of what determines the data (the salt file's location does not).
        var digestConfig = config
        digestConfig.privacy.saltFile = nil
        let digest = SHA256.hex(SHA256.hash(Array((try? StableJSON.encode(digestConfig)) ?? Data()))).prefix(16)
        return EchoDatasetDescription(
            site: config.site, dataset: config.dataset,
            taxonomy: .init(name: taxonomy.name, version: taxonomy.version),
            classes: classes, siteClasses: labelMap.targetClasses, labelMap: config.labelMap,
            image: .init(height: config.geometry.height, width: config.geometry.width, framesPerSample: fpS,
                         dtype: config.output.dtype.rawValue, layout: config.output.layout.rawValue, sampleShape: sampleShape,
                         valueRange: config.output.dtype == .uint8 ? [0, 255] : [0, 1]),
            splits: splits,
            normalization: .init(scale: config.output.dtype == .uint8 ? "x / 255" : "x", mean: round6(mean), std: round6(std), computedOn: "train"),
            split: .init(seed: config.split.seed, method: config.split.method.rawValue,
                         fractions: ["train": config.split.train, "val": config.split.val, "test": config.split.test],
                         groupedBy: "patient (PatientID, else StudyInstanceUID, else the file)"),
            configDigest: String(digest), createdBy: "medcil \(MedCILVersion.string)")
    }

    private func manifest(records: [(record: ConversionRecord, scanned: ScannedFile, name: String)], privacy: PathPrivacy,
                          hasher: SaltedHasher) -> String {
        let header = ["id", "split", "label", "class", "raw_label", "site", "source", "patient", "study", "series", "sop",
                      "frames", "region", "mask", "file", "index"]
        var rows: [[String]] = []
        for entry in records {
            let s = entry.scanned
            let hashed = { (value: String?, kind: String) -> String in value.map { hasher.hash($0, kind: kind) } ?? "" }
            for sample in entry.record.samples {
                rows.append([sample.id, entry.record.split, String(entry.record.label), entry.name, s.rawLabel ?? "", config.site,
                             privacy.render(s.input.relativePath, tokens: s.identifyingTokens), hasher.hash(s.patientKey, kind: "patient"),
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
