import ArrayFiles
import Foundation
import Support

/// The `packed` output layout: each split's samples stacked in `shard-NNNNN.npy` files
/// (`[N, H, W]` or `[N, F, H, W]`, about `shard_megabytes` each) with `labels.npy` (int64)
/// beside, in manifest order.
///
/// Converted cines first land in per-source staging files; packing then copies samples into
/// shards. New shards are written completely before any replaces an old one, so a shard
/// from the previous run can still be read as a source, and an interrupted run leaves the
/// previous shards intact. A shard whose members already sit in place is not rewritten.
struct PackedLayout {
    let config: EchoConverterConfig
    let workspace: ConversionWorkspace

    private var datasetDir: URL { workspace.datasetDirectory }
    private var stateDir: URL { workspace.stateDirectory }

    typealias Entry = (record: ConversionRecord, scanned: ScannedFile, name: String)

    func pack(_ entries: [Entry]) throws -> [Entry] {
        var entries = entries
        let sampleShape = config.sampleShape
        let elementSize = config.output.dtype == .uint8 ? 1 : 4
        let sampleBytes = sampleShape.reduce(1, *) * elementSize
        let perShard = max(1, Int(config.output.shardMegabytes * 1_000_000) / sampleBytes)
        let dtype: NpyDType = config.output.dtype == .uint8 ? .uint8 : .float32
        let pending = stateDir.appendingPathComponent("pack")
        try? FileManager.default.removeItem(at: pending)
        var sources: [String: MappedNpy] = [:]
        func source(_ path: URL) throws -> MappedNpy {
            if let open = sources[path.path] { return open }
            let mapped = try MappedNpy(url: path)
            sources[path.path] = mapped
            return mapped
        }
        var commits: [(URL, URL)] = []
        var keepShards: Set<String> = []
        var usedStaging: Set<String> = []
        var changedRecords: Set<Int> = []

        for split in SplitAssigner.splitNames {
            let members = entries.indices.filter { entries[$0].record.split == split }
                .flatMap { e in entries[e].record.samples.indices.map { (e, $0) } }
            let shardCount = (members.count + perShard - 1) / perShard
            var labels: [Int64] = []
            for shard in 0..<shardCount {
                let name = String(format: "shard-%05d.npy", shard)
                let relative = "\(split)/\(name)"
                keepShards.insert(relative)
                let slice = Array(members[(shard * perShard)..<min(members.count, (shard + 1) * perShard)])
                let inPlace = slice.enumerated().allSatisfy { position, member in
                    let location = entries[member.0].record.samples[member.1].packed
                    return location?.staging == false && location?.file == relative && location?.index == position
                } && FileManager.default.fileExists(atPath: datasetDir.appendingPathComponent(relative).path)
                for member in slice { labels.append(Int64(entries[member.0].record.label)) }
                if inPlace { continue }
                let target = pending.appendingPathComponent("\(split)-\(name)")
                let writer = try NpyStreamWriter(url: target, dtype: dtype, shape: [slice.count] + sampleShape)
                for member in slice {
                    guard let location = entries[member.0].record.samples[member.1].packed else {
                        throw IngestError.io("sample \(entries[member.0].record.samples[member.1].id) has no packed location")
                    }
                    let url = location.staging ? stateDir.appendingPathComponent(location.file) : datasetDir.appendingPathComponent(location.file)
                    let mapped = try source(url)
                    guard mapped.header.byteCount / max(mapped.header.shape.first ?? 1, 1) == sampleBytes else {
                        throw IngestError.io("\(location.file) does not hold samples of shape \(sampleShape)")
                    }
                    try writer.append(mapped.item(location.index))
                    if location.staging { usedStaging.insert(url.path) }
                }
                try writer.finish()
                commits.append((target, datasetDir.appendingPathComponent(relative)))
                for (position, member) in slice.enumerated() {
                    entries[member.0].record.samples[member.1].packed = .init(file: relative, index: position, staging: false)
                    changedRecords.insert(member.0)
                }
            }
            try NpyArray(labels, shape: [labels.count]).write(to: datasetDir.appendingPathComponent(split).appendingPathComponent("labels.npy"))
        }
        sources.removeAll()
        // Every new shard is complete: move them into place, then drop what is no longer used.
        for (from, to) in commits {
            try AtomicFile.ensureDirectory(to.deletingLastPathComponent())
            try AtomicFile.commit(from, to: to)
        }
        for split in SplitAssigner.splitNames {
            let folder = datasetDir.appendingPathComponent(split)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            where name.hasPrefix("shard-") && !keepShards.contains("\(split)/\(name)") {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
            }
        }
        for index in changedRecords.sorted() {
            let record = entries[index].record
            try ResumeRecords(workspace: workspace).save(record, key: record.key)
        }
        for path in usedStaging { try? FileManager.default.removeItem(atPath: path) }
        try? FileManager.default.removeItem(at: pending)
        return entries
    }
}
