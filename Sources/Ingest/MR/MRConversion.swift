import ArrayFiles
import Console
import Datasets
import Foundation
import NiftiIO
import Support

/// `medcil convert mr`: a site's NIfTI export (image volumes and their label volumes) ->
/// normalised canonical 2D slices `<split>/<volume>_<slice>.npy` (float32 [H, W]) with
/// canonical masks `<volume>_<slice>_mask.npy` (uint8 [H, W]), `dataset.json`,
/// `manifest.csv` and a report that accounts for every input file.
///
/// Phases: scan and pair files -> split by subject (or volume) -> convert volumes in
/// parallel (skipping those a previous run converted with the same settings) -> write the
/// descriptions atomically, rebuilt from the per-volume records so reruns give the same bytes.
/// The skeleton (`ConversionSkeleton`) runs the phases; this type says what they mean for
/// MR volumes.
public struct MRConversion: DatasetConverter {
    public let config: MRConverterConfig
    public let request: ConversionRequest

    public init(config: MRConverterConfig, request: ConversionRequest) {
        self.config = config
        self.request = request
    }

    public static let vocabulary = ConversionVocabulary(label: "convert mr", unit: "volume", work: "slices written", workCounter: "slices")

    /// The paired export: every file, the image/label pairs with their splits.
    public struct Plan {
        let taxonomy: Taxonomy
        let labelMap: MRLabelMap
        let processor: MRVolumeProcessor
        let files: [InputFile]
        let pairing: MRVolumePairing
        let assignment: [String: String]
        /// Voxels of each image (by relative path), from the scan.
        let voxels: [String: Int]
        let privacy: PathPrivacy
        /// Path parts that may identify a subject (see `plan`).
        let tokens: IdentifyingTokens

        func render(_ index: Int) -> String { privacy.render(files[index].relativePath, tokens: tokens) }
    }

    // MARK: - plan

    public static let kind = "mr"

    /// The export's files, and the voxel count of each paired image from its header (the
    /// work a part balances; the file's size when the header cannot be read).
    public struct Scan: Codable, Sendable {
        public var files: [InputFile]
        public var voxels: [String: Int]
    }

    /// 1. List the files; read the image headers of the pairs.
    public func scan() throws -> Scan {
        let files = try InputScanner.scan(root: request.inputRoot, spec: config.input)
        let pairing = try MRVolumePairing(files: files, spec: config.pairing)
        let counts: [Int] = parallelMap(pairing.pairs.count, workers: request.workers) { k in
            let image = pairing.pairs[k].image
            guard let header = try? NiftiFile(path: image.url.path).header else { return Int(image.size) }
            return WorkEstimate.product(header.shape)
        }
        return Scan(files: files, voxels: Dictionary(zip(pairing.pairs.map(\.image.relativePath), counts)) { a, _ in a })
    }

    public func plan(from scan: Scan, in workspace: ConversionWorkspace) throws -> Plan {
        let taxonomy = try Taxonomy.load(from: request.resolve(config.taxonomy))
        let labelMap = try MRLabelMap(raw: config.labelMap, taxonomy: taxonomy)

        // 2. Pair.
        let files = scan.files
        let pairing = try MRVolumePairing(files: files, spec: config.pairing)
        // Subject and volume keys (a patient's folder, a name, a study date) may identify
        // people: path segments that hold one of their parts are hashed in the report and
        // manifest (privacy.source_paths: scrubbed); `clear` keeps exports already pseudonymised readable.
        let tokens = IdentifyingTokens(pairing.pairs.flatMap { pair in
            ([pair.key] + (pair.subject.map { [$0] } ?? [])).flatMap { $0.split(separator: "/").map(String.init) }
        })

        // 3. Splits by subject (when derived) or by volume.
        var unitVolumes: [String: Int] = [:]
        for pair in pairing.pairs { unitVolumes[unitKey(pair), default: 0] += 1 }
        let assignment = SplitAssigner.assign(unitVolumes.map { SplitAssigner.Patient(key: $0.key, classCounts: [0: $0.value]) },
                                              spec: config.split)
        return Plan(taxonomy: taxonomy, labelMap: labelMap, processor: MRVolumeProcessor(config: config, labelMap: labelMap),
                    files: files, pairing: pairing, assignment: assignment, voxels: scan.voxels,
                    privacy: PathPrivacy(mode: config.privacy.sourcePaths, hasher: workspace.hasher), tokens: tokens)
    }

    private func unitKey(_ pair: MRVolumePairing.Pair) -> String {
        pair.subject.map { "subject:" + $0 } ?? "volume:" + pair.key
    }

    public func unitCount(_ plan: Plan) -> Int { plan.pairing.pairs.count }

    /// A volume stays with the other volumes of its split unit (subject, else itself).
    public func partitionKey(unit: Int, plan: Plan) -> (group: String, work: Int) {
        let pair = plan.pairing.pairs[unit]
        return (unitKey(pair), plan.voxels[pair.image.relativePath] ?? Int(pair.image.size))
    }

    /// `finish` reads the file at fault and the unlisted label values from the failure.
    public func storedFailure(_ error: any Error) -> StoredUnitFailure {
        let failure = error as? MRVolumeProcessor.Failure ?? .init(culprit: .pair, reason: "\(error)")
        return StoredUnitFailure(reason: failure.reason, category: failure.culprit.rawValue,
                                 unlistedValues: failure.unlistedValues.isEmpty ? nil
                                    : Dictionary(uniqueKeysWithValues: failure.unlistedValues.map { (String($0.key), $0.value) }))
    }

    public func restoredError(_ failure: StoredUnitFailure) -> any Error {
        var restored = MRVolumeProcessor.Failure(culprit: .init(rawValue: failure.category) ?? .pair, reason: failure.reason)
        for (value, count) in failure.unlistedValues ?? [:] { if let v = Int32(value) { restored.unlistedValues[v] = count } }
        return restored
    }

    public func work(_ record: MRConversionRecord) -> Int { record.slices.count }

    // MARK: - one volume

    /// The volume's output name: a salted hash of its key, or the key made file-name safe.
    public func volumeID(_ key: String, hasher: SaltedHasher) -> String {
        switch config.output.volumeIDs {
        case .hashed: return hasher.hash(key, kind: "mr-volume", length: 12)
        case .clear:
            return String(key.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) ? Character($0) : "_" })
        }
    }

    public func resumeKey(unit: Int, plan: Plan, workspace: ConversionWorkspace) -> (key: String, fingerprint: String) {
        let pair = plan.pairing.pairs[unit]
        let key = workspace.hasher.hash(pair.image.relativePath, kind: "mr-record", length: 20)
        return (key, Self.fingerprint(config: config, taxonomy: plan.taxonomy, pair: pair, hasher: workspace.hasher,
                                      split: plan.assignment[unitKey(pair)]!, volume: volumeID(pair.key, hasher: workspace.hasher)))
    }

    public func convert(unit: Int, plan: Plan, key: String, fingerprint: String, workspace: ConversionWorkspace) throws -> MRConversionRecord {
        let pair = plan.pairing.pairs[unit]
        let split = plan.assignment[unitKey(pair)]!
        let volume = volumeID(pair.key, hasher: workspace.hasher)
        let splitDir = workspace.datasetDirectory.appendingPathComponent(split)
        let shape = [config.geometry.height, config.geometry.width]
        var written: [MRConversionRecord.Slice] = []
        let result: MRVolumeProcessor.Result
        do {
            result = try plan.processor.process(image: pair.image.url, label: pair.label.url) { index, image, mask in
                let number = String(index)
                let stem = volume + "_" + String(repeating: "0", count: max(0, 4 - number.count)) + number
                try NpyArray(image, shape: shape).write(to: splitDir.appendingPathComponent(stem + ".npy"))
                try NpyArray(mask, shape: shape).write(to: splitDir.appendingPathComponent(stem + "_mask.npy"))
                written.append(.init(summary: .init(index: index, classPixels: [], sum: 0, sumSquares: 0),
                                     image: "\(split)/\(stem).npy", mask: "\(split)/\(stem)_mask.npy"))
            }
        } catch let failure as MRVolumeProcessor.Failure {
            throw failure
        } catch {
            throw MRVolumeProcessor.Failure(culprit: .pair, reason: "cannot write the outputs: \(error)")
        }
        let slices = zip(written, result.slices).map { MRConversionRecord.Slice(summary: $1, image: $0.image, mask: $0.mask) }
        return MRConversionRecord(
            fingerprint: fingerprint, key: key, image: workspace.hasher.sourcePath(pair.image.relativePath),
            label: workspace.hasher.sourcePath(pair.label.relativePath),
            volume: volume, split: split, subject: pair.subject.map { workspace.hasher.hash($0, kind: "subject") },
            storedShape: result.storedShape, canonicalShape: result.canonicalShape,
            storedAffine: result.storedAffine, canonicalAffine: result.canonicalAffine, storedAxisCodes: result.storedAxisCodes,
            canonicalSpacing: result.canonicalSpacing, sliceSpacing: result.sliceSpacing, resampledSize: result.resampledSize,
            normalization: result.normalization,
            ignoredValues: Dictionary(uniqueKeysWithValues: result.ignoredValues.map { (String($0.key), $0.value) }),
            slices: slices)
    }

    /// Everything that determines a volume's slices.
    static func fingerprint(config: MRConverterConfig, taxonomy: Taxonomy, pair: MRVolumePairing.Pair, hasher: SaltedHasher,
                            split: String, volume: String) -> String {
        struct Key: Encodable {
            var format = 1
            var geometry: MRGeometrySpec
            var intensity: MRIntensitySpec
            var labelMap: [String: String]
            var unlisted: String
            var affineTolerance: Double
            var taxonomy: [String]
            var image: String
            var imageSize: Int64
            var imageModified: Double
            var label: String
            var labelSize: Int64
            var labelModified: Double
            var split: String
            var volume: String
        }
        let key = Key(geometry: config.geometry, intensity: config.intensity, labelMap: config.labelMap,
                      unlisted: config.unlistedValues.rawValue, affineTolerance: config.pairing.affineTolerance,
                      taxonomy: [taxonomy.name, taxonomy.version] + taxonomy.orderedNames,
                      image: hasher.sourcePath(pair.image.relativePath), imageSize: pair.image.size, imageModified: pair.image.modified,
                      label: hasher.sourcePath(pair.label.relativePath), labelSize: pair.label.size, labelModified: pair.label.modified,
                      split: split, volume: volume)
        return ResumeRecords.fingerprint(key)
    }

    // MARK: - finish

    public func finish(plan: Plan, outcomes: [UnitOutcome<MRConversionRecord>],
                       workspace: ConversionWorkspace) throws -> ConversionResult<MRDatasetDescription, MRConversionReport> {
        let files = plan.files, pairing = plan.pairing
        let render = plan.render
        // Fates, in input order.
        var fates = [MRInputFate?](repeating: nil, count: files.count)
        for (index, reason) in pairing.unpaired {
            let (outcome, text): (MRInputFate.Outcome, String) = {
                switch reason {
                case .excluded(let why): return (.excluded, why)
                case .unpaired(let why): return (.unpaired, why)
                case .failed(let why): return (.failed, why)
                }
            }()
            fates[index] = MRInputFate(source: render(index), role: pairing.roles[index]?.role ?? .other, outcome: outcome, reason: text,
                                       volume: nil, pairedWith: nil, split: nil, slices: 0, cause: outcome != .excluded)
        }
        let indexOf = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($0.element.relativePath, $0.offset) })
        var records: [MRConversionRecord] = []
        var unlistedVolumes: [String: Int] = [:]
        for (k, pair) in pairing.pairs.enumerated() {
            let outcome = outcomes[k]
            let imageIndex = indexOf[pair.image.relativePath]!, labelIndex = indexOf[pair.label.relativePath]!
            let volume = volumeID(pair.key, hasher: workspace.hasher)
            var imageFate = MRInputFate(source: render(imageIndex), role: .image, outcome: .converted, reason: nil, volume: volume,
                                        pairedWith: render(labelIndex), split: nil, slices: 0, cause: false)
            var labelFate = MRInputFate(source: render(labelIndex), role: .label, outcome: .converted, reason: nil, volume: volume,
                                        pairedWith: render(imageIndex), split: nil, slices: 0, cause: false)
            if let record = outcome.record {
                imageFate.split = record.split
                labelFate.split = record.split
                imageFate.slices = record.slices.count
                labelFate.slices = record.slices.count
                records.append(record)
            } else if let error = outcome.error {
                let failure = error as? MRVolumeProcessor.Failure ?? .init(culprit: .pair, reason: "\(error)")
                let outcomeKind: MRInputFate.Outcome = failure.unlistedValues.isEmpty ? .failed : .unmappedLabel
                for value in failure.unlistedValues.keys { unlistedVolumes[String(value), default: 0] += 1 }
                imageFate.outcome = outcomeKind
                labelFate.outcome = outcomeKind
                // The file at fault carries the reason; its partner points at it. A grid
                // mismatch is the label volume's: it does not fit its image.
                let imageAtFault = failure.culprit == .image
                imageFate.cause = imageAtFault
                labelFate.cause = !imageAtFault
                imageFate.reason = imageAtFault ? failure.reason : "not converted: its label volume \(labelFate.source) failed"
                labelFate.reason = imageAtFault ? "not converted: its image \(imageFate.source) failed" : failure.reason
            }
            fates[imageIndex] = imageFate
            fates[labelIndex] = labelFate
        }
        let finalFates = fates.map { $0! }
        let description = describe(records: records, taxonomy: plan.taxonomy, labelMap: plan.labelMap)
        let report = makeReport(fates: finalFates, records: records, unlisted: unlistedVolumes, description: description)
        return ConversionResult(
            description: description, report: report,
            manifest: manifest(records: records, labelMap: plan.labelMap,
                               indexOf: Dictionary(uniqueKeysWithValues: files.enumerated().map { (workspace.hasher.sourcePath($0.element.relativePath), $0.offset) }),
                               render: render),
            keep: Set(records.flatMap { $0.slices.flatMap { [$0.image, $0.mask] } }),
            reportText: Self.reportText(description: description, report: report),
            throughputUnits: records.count,
            notConverted: [MRInputFate.Outcome.failed, .unpaired, .unmappedLabel].reduce(0) { $0 + (report.totals[$1.rawValue] ?? 0) })
    }

    /// The part of the summary that the inputs determine (also written to report.txt).
    static func reportText(description: MRDatasetDescription, report: MRConversionReport) -> String {

        var lines: [String] = []
        let t = report.totals
        lines.append("site \(report.site) -> \(description.dataset) (sequence \(description.channelNames["0"] ?? "?"))")
        lines.append("  files: \(t["seen"] ?? 0) seen, " + MRInputFate.Outcome.allCases.map { "\(t[$0.rawValue] ?? 0) \($0.rawValue)" }.joined(separator: ", "))
        let splits = SplitAssigner.splitNames
        lines.append("  volumes: " + splits.map { "\($0) \(description.splits[$0]?.volumes ?? 0)" }.joined(separator: ", ") +
            "  (\(description.split.groupedBy.hasPrefix("subject") ? "subjects" : "units"): " +
            splits.map { "\($0) \(description.splits[$0]?.subjects ?? 0)" }.joined(separator: ", ") + ")")
        lines.append("  slices: " + splits.map { "\($0) \(description.splits[$0]?.slices ?? 0)" }.joined(separator: ", ") +
            "  (without foreground: " + splits.map { "\($0) \(description.splits[$0]?.emptySlices ?? 0)" }.joined(separator: ", ") + ")")
        var table = TextTable(header: ["class", "index", "annotated"] + splits.map { "\($0) slices" }, rightAligned: [1, 3, 4, 5])
        for name in description.classes.dropFirst() {
            let annotated = description.annotatedClasses.contains(name)
            table.add([name, String(description.labels[name] ?? -1), annotated ? "yes" : "no"] +
                      splits.map { annotated ? String(description.splits[$0]?.slicesWith[name] ?? 0) : "-" })
        }
        lines.append(table.render(indent: "    "))
        lines.append(String(format: "  intensity: %@, clip %g-%g percentiles; stored values over train: mean %.4f, std %.4f",
                            description.intensity.normalization, description.intensity.clipPercentiles[0],
                            description.intensity.clipPercentiles[1], description.intensity.trainMean, description.intensity.trainStd))
        if !report.ignoredValues.isEmpty {
            lines.append("  unlisted label values set to 0: " + report.ignoredValues.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) voxels)" }.joined(separator: ", "))
        }
        let problems = report.inputs.filter { $0.outcome != .converted && $0.outcome != .excluded && $0.cause }
        if !problems.isEmpty {
            lines.append("  not converted:")
            for fate in problems.prefix(20) { lines.append("    \(fate.source): \(fate.outcome.rawValue): \(fate.reason ?? "")") }
            if problems.count > 20 { lines.append("    ... \(problems.count - 20) more in report.json") }
        }
        return lines.joined(separator: "\n")
    }

    private func describe(records: [MRConversionRecord], taxonomy: Taxonomy, labelMap: MRLabelMap) -> MRDatasetDescription {
        let names = taxonomy.orderedNames
        var splits: [String: MRDatasetDescription.SplitCounts] = [:]
        var subjects: [String: Set<String>] = [:]
        var volumes: [String: MRDatasetDescription.VolumeEntry] = [:]
        var sum = 0.0, sumSquares = 0.0, pixels = 0.0
        let slicePixels = Double(config.geometry.height * config.geometry.width)
        for record in records {
            var counts = splits[record.split] ?? .init(volumes: 0, subjects: 0, slices: 0, emptySlices: 0, slicesWith: [:])
            counts.volumes += 1
            counts.slices += record.slices.count
            for slice in record.slices {
                let present = labelMap.annotatedIndices.filter { slice.summary.classPixels[$0] > 0 }
                if present.isEmpty { counts.emptySlices += 1 }
                for index in present { counts.slicesWith[names[index], default: 0] += 1 }
                if record.split == "train" {
                    sum += slice.summary.sum
                    sumSquares += slice.summary.sumSquares
                    pixels += slicePixels
                }
            }
            splits[record.split] = counts
            subjects[record.split, default: []].insert(record.subject ?? "volume:" + record.volume)
            let n = record.normalization
            volumes[record.volume] = .init(split: record.split, slices: record.slices.count, storedShape: record.storedShape,
                                           storedAxisCodes: record.storedAxisCodes, storedAffine: record.storedAffine.rows,
                                           canonicalShape: record.canonicalShape, canonicalAffine: record.canonicalAffine.rows,
                                           canonicalSpacing: record.canonicalSpacing, sliceSpacing: record.sliceSpacing,
                                           intensity: .init(low: n.low, high: n.high, mean: n.mean, std: n.std, method: n.method.rawValue))
        }
        for split in SplitAssigner.splitNames {
            var counts = splits[split] ?? .init(volumes: 0, subjects: 0, slices: 0, emptySlices: 0, slicesWith: [:])
            counts.subjects = subjects[split]?.count ?? 0
            for name in labelMap.annotatedClasses where counts.slicesWith[name] == nil { counts.slicesWith[name] = 0 }
            splits[split] = counts
        }
        let mean = pixels > 0 ? sum / pixels : 0
        let std = pixels > 0 ? max(sumSquares / pixels - mean * mean, 0).squareRoot() : 0
        var labels: [String: Int] = [:]
        for entry in taxonomy.classes { labels[entry.name] = entry.index }
        var labelMapOut = Dictionary(uniqueKeysWithValues: labelMap.targets.map { (String($0.key), $0.value) })
        if labelMapOut["0"] == nil { labelMapOut["0"] = "background" }
        let axis = config.geometry.sliceAxis
        let axisNames = ["x (left to right)", "y (posterior to anterior)", "z (inferior to superior)"]
        let slicing: String = {
            switch axis {
            case .axial: return "canonical[:, :, k]"
            case .coronal: return "canonical[:, k, :]"
            case .sagittal: return "canonical[k, :, :]"
            }
        }()
        let padding: String = config.geometry.fit == .pad
            ? "centred; images padded with the volume's lowest normalised value (the lower clip), masks with 0; larger planes cropped centrally"
            : "none: planes are resized to the target size (linear for images, nearest for masks)"
        return MRDatasetDescription(
            site: config.site, dataset: config.dataset, channelNames: ["0": config.sequence], labels: labels, classes: names,
            annotatedClasses: labelMap.annotatedClasses, notAnnotatedClasses: labelMap.notAnnotatedClasses,
            labelMap: labelMapOut, unlistedValues: config.unlistedValues.rawValue,
            taxonomy: DatasetTaxonomy(taxonomy),
            numTraining: splits["train"]?.volumes ?? 0,
            image: .init(height: config.geometry.height, width: config.geometry.width, dtype: "float32", maskDtype: "uint8",
                         sampleShape: [config.geometry.height, config.geometry.width],
                         image: "<split>/<volume>_<slice>.npy", mask: "<split>/<volume>_<slice>_mask.npy",
                         maskValues: "canonical class index (labels); 0 is background or a class this site does not annotate (not_annotated_classes)"),
            geometry: .init(orientation: "RAS+ (nibabel's as_closest_canonical)",
                            reorientation: "axis permutation and flips only, no resampling; stored affines and axis codes in volumes",
                            sliceAxis: axis.rawValue,
                            sliceAxes: ["H": axisNames[axis.planeAxes.0], "W": axisNames[axis.planeAxes.1], "slice": axisNames[axis.axis]],
                            slicing: slicing + " (before resampling and fitting), C order [H, W]",
                            targetSpacing: config.geometry.spacing, fit: config.geometry.fit.rawValue,
                            size: config.geometry.size, padding: padding),
            intensity: .init(normalization: config.intensity.normalization.rawValue, clipPercentiles: config.intensity.clipPercentiles,
                             percentileDefinition: "numpy.percentile, linear interpolation, over every voxel of the volume",
                             trainMean: DescriptionParts.round6(mean), trainStd: DescriptionParts.round6(std)),
            volumes: volumes, splits: splits,
            split: DatasetSplitSettings(config.split, groupedBy: config.pairing.subject != nil ? "subject (pairing.subject)" : "volume"),
            configDigest: DescriptionParts.configDigest(config), createdBy: DescriptionParts.createdBy)
    }

    /// - Parameter indexOf: input index by the salted hash of its path (what records hold).
    private func manifest(records: [MRConversionRecord], labelMap: MRLabelMap, indexOf: [String: Int],
                          render: (Int) -> String) -> String {
        let names = labelMap.taxonomy.orderedNames
        let foreground = Array(names.indices.dropFirst())
        let header = ["volume", "slice", "split", "image", "mask", "empty", "annotated", "present"]
            + foreground.map { "px_" + names[$0] } + ["site", "sequence", "subject", "source"]
        let annotated = labelMap.annotatedClasses.joined(separator: ";")
        var rows: [[String]] = []
        for record in records {
            let source = indexOf[record.image].map(render) ?? ""
            for slice in record.slices {
                let pixels = slice.summary.classPixels
                let present = labelMap.annotatedIndices.filter { pixels[$0] > 0 }
                var row = [record.volume, String(slice.summary.index), record.split, slice.image, slice.mask,
                           present.isEmpty ? "1" : "0", annotated, present.map { names[$0] }.joined(separator: ";")]
                // Classes the site does not annotate have no count: unknown, not zero.
                row += foreground.map { labelMap.annotatedIndices.contains($0) ? String(pixels[$0]) : "" }
                row += [config.site, config.sequence, record.subject ?? "", source]
                rows.append(row)
            }
        }
        return CSVTable.render(header: header, rows: rows)
    }

    private func makeReport(fates: [MRInputFate], records: [MRConversionRecord], unlisted: [String: Int],
                            description: MRDatasetDescription) -> MRConversionReport {
        var totals: [String: Int] = ["seen": fates.count]
        for outcome in MRInputFate.Outcome.allCases { totals[outcome.rawValue] = 0 }
        for fate in fates { totals[fate.outcome.rawValue, default: 0] += 1 }
        var ignored: [String: Int] = [:]
        for record in records { for (value, count) in record.ignoredValues { ignored[value, default: 0] += count } }
        return MRConversionReport(site: config.site, dataset: config.dataset, inputs: fates, totals: totals,
                                  unlistedValues: unlisted, ignoredValues: ignored,
                                  slicesPerSplit: description.splits.mapValues(\.slices))
    }
}
