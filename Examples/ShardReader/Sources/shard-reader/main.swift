// shard-reader CONVERTER.yaml WORK_FOLDER
//
// Writes a small phantom export of the converter's site, converts it with the converter (at
// 64x64 pixels), and reads every training sample back through the shard loader. Exits non-zero
// with the reason when any step fails or a sample disagrees with the dataset's description.
import DataLoading
import Foundation
import Ingest
import Phantoms
import Support

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("shard-reader: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 else { fail("usage: shard-reader CONVERTER.yaml WORK_FOLDER") }
let converterURL = URL(fileURLWithPath: arguments.first!)
let work = URL(fileURLWithPath: arguments.last!)

do {
    var config = try ConfigLoader.load(EchoConverterConfig.self, from: converterURL)
    // The phantom sites are named a, b, ...; converters name them phantom-a, phantom-b, ...
    let siteName = String(config.site.split(separator: "-").last ?? "")
    guard let site = EchoPhantomSite.named(siteName) else { fail("\(converterURL.path): site \(config.site) has no phantom") }
    config.geometry.size = [64, 64]
    config.privacy.saltFile = work.appendingPathComponent("salt").path

    let raw = work.appendingPathComponent("raw")
    _ = try EchoPhantomExporter.export(site: site, to: raw, perView: 2, seed: 3, faults: false, workers: 2, progress: .off)
    let summary = try EchoConversion(config: config, configURL: converterURL, inputRoot: raw.appendingPathComponent("site-\(site.name)"),
                                     outputRoot: work.appendingPathComponent("out"), stateRoot: work.appendingPathComponent("state"),
                                     workers: 2, progressMode: .off).run()

    let dataset = try ShardDataset(folder: summary.datasetDirectory, split: "train")
    guard dataset.count > 0 else { fail("\(summary.datasetDirectory.path): no training samples") }
    var perClass = [Int](repeating: 0, count: dataset.classCount)
    for index in 0..<dataset.count {
        // The loader checks each sample's shape against dataset.json; its values are 0...1.
        let pixels = try dataset.pixels(at: index)
        guard pixels.allSatisfy({ $0 >= 0 && $0 <= 1 }) else { fail("sample \(index): values outside 0...1") }
        let label = dataset.label(at: index)
        guard perClass.indices.contains(label) else { fail("sample \(index): label \(label) outside \(dataset.classCount) classes") }
        perClass[label] += 1
    }
    print("shard-reader: \(config.dataset): \(dataset.count) training samples of shape \(dataset.sampleShape), " +
          "\(perClass.filter { $0 > 0 }.count) of \(dataset.classCount) classes present")
} catch {
    fail("\(error)")
}
