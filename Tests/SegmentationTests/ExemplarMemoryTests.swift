import ArrayFiles
import Foundation
import Segmentation
import TensorCore
import TestSupport
import Testing

func exemplar(_ volume: String, _ slice: Int, shape: [Int] = [1, 3, 2], classes: [Int] = [2], value: Float = 0) -> Exemplar {
    let pixels = shape[1] * shape[2]
    return Exemplar(reference: SliceReference(volume: volume, slice: slice), structures: ["humerus"],
                    image: (0..<shape.reduce(1, *)).map { Float($0) + value }, mask: (0..<pixels).map { ($0 + slice) % 2 },
                    softTargets: classes.map { k in (0..<(k * pixels)).map { Float($0) / Float(k * pixels) + value } })
}

@Suite struct ExemplarMemoryTests {
    /// Random per-structure selections, random capacities: the merged set never exceeds the
    /// bound, has no repeats, keeps every slice when they fit, and takes best ranks first.
    @Test func mergedSelectionsNeverExceedTheBound() {
        let generator = RandomGenerator(seed: 17)
        for _ in 0..<200 {
            let structures = 1 + generator.int(below: 3), capacity = generator.int(below: 12)
            let selections = (0..<structures).map { s in
                (structure: "s\(s)", picks: Array(Set((0..<generator.int(below: 9)).map { _ in
                    SliceReference(volume: "v\(generator.int(below: 3))", slice: generator.int(below: 5)) })).sorted())
            }
            let merged = ExemplarMemory.merge(selections: selections, capacity: capacity)
            let distinct = Set(selections.flatMap(\.picks))
            #expect(merged.count == min(capacity, distinct.count))
            #expect(Set(merged.map(\.0)).count == merged.count)
            // The first picks of every structure come before anything else.
            let firsts = Set(selections.compactMap(\.picks.first))
            if capacity >= firsts.count { #expect(firsts.isSubset(of: Set(merged.map(\.0)))) }
            // Every listed structure really picked the slice.
            for (reference, chosenBy) in merged {
                #expect(chosenBy.allSatisfy { name in selections.first { $0.structure == name }!.picks.contains(reference) })
            }
        }
    }

    @Test func insertRefusesBeyondCapacityAndRoundTrips() throws {
        var memory = try ExemplarMemory(capacity: 3, imageShape: [1, 3, 2], softTargetClasses: [2])
        try memory.insert(exemplar("a1b2", 0))
        try memory.insert(exemplar("a1b2", 4, value: 0.5))
        #expect(throws: SegmentationError.self) { try memory.insert(exemplar("a1b2", 0)) }
        #expect(throws: SegmentationError.self) { try memory.insert(exemplar("c3d4", 1, shape: [1, 2, 2])) }
        try memory.insert(exemplar("c3d4", 1, value: 2))
        #expect(throws: SegmentationError.self) { try memory.insert(exemplar("c3d4", 2)) }
        #expect(memory.count == 3 && memory.count <= memory.capacity)

        let folder = TestPaths.temporaryDirectory("exemplars")
        defer { try? FileManager.default.removeItem(at: folder) }
        try memory.save(to: folder)
        let loaded = try ExemplarMemory.load(from: folder)
        #expect(loaded == memory)
        // The arrays are readable as plain safetensors with the documented shapes.
        let state = try SafeTensors.read(from: folder.appendingPathComponent(ExemplarMemory.tensorsFile))
        #expect(state.tensors["images"]!.shape == [3, 1, 3, 2] && state.tensors["soft_targets.0"]!.shape == [3, 2, 3, 2])
        // A listing edited to exceed its capacity is refused on load.
        let listingURL = folder.appendingPathComponent(ExemplarMemory.listingFile)
        var listing = try JSONDecoder().decode(ExemplarMemory.Listing.self, from: Data(contentsOf: listingURL))
        listing.capacity = 2
        try JSONEncoder().encode(listing).write(to: listingURL)
        #expect(throws: SegmentationError.self) { try ExemplarMemory.load(from: folder) }
    }

    @Test func settingsDecodeAndValidate() throws {
        let json = #"{"capacity": 40, "representatives": 10, "candidates": 20, "monte_carlo_passes": 29}"#
        let settings = try JSONDecoder().decode(ExemplarSettings.self, from: Data(json.utf8))
        #expect(settings == ExemplarSettings(capacity: 40, representatives: 10, candidates: 20))
        #expect(throws: SegmentationError.self) { try ExemplarSettings(representatives: 60, candidates: 50).validated() }
    }
}
