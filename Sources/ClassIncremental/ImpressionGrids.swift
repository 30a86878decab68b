import ArrayFiles
import Foundation
import Reporting

/// What a model remembers, as files a person can open: per class, its impressions as
/// `class-<k>.npy` [n, C, H, W] and a PNG grid (channel 0, values clamped to 0...1, up to 8
/// per row, 1-pixel gaps), and the stored class-mean image beside them (`mean-<k>.png`).
public enum ImpressionGrids {
    public static func write(_ images: ImageSet, classMeans: [Float]?, classes: [String], to folder: URL) throws {
        try AtomicFile.ensureDirectory(folder)
        let size = images.imageSize, shape = images.shape
        for c in Set(images.labels).sorted() {
            let members = images.restricted(to: [c])
            try NpyArray(members.pixels, shape: [members.count] + shape).write(to: folder.appendingPathComponent("class-\(c).npy"))
            try AtomicFile.write(grid(members), to: folder.appendingPathComponent("class-\(c).png"))
            if let classMeans, classMeans.count >= (c + 1) * size {
                let mean = ImageSet(pixels: Array(classMeans[(c * size)..<((c + 1) * size)]), labels: [c], shape: shape)
                try AtomicFile.write(grid(mean), to: folder.appendingPathComponent("mean-\(c).png"))
            }
        }
        let names = Set(images.labels).sorted().map { "class-\($0): \($0 < classes.count ? classes[$0] : "?")" }
        try AtomicFile.write(Data((names.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("classes.txt"))
    }

    /// Channel 0 of every image in a grid, up to 8 per row.
    public static func grid(_ set: ImageSet) -> Data {
        let h = set.shape[1], w = set.shape[2], columns = min(8, max(set.count, 1))
        let rows = (set.count + columns - 1) / columns
        let width = columns * (w + 1) - 1, height = max(rows * (h + 1) - 1, 1)
        var pixels = [UInt8](repeating: 0, count: width * height)
        for i in 0..<set.count {
            let image = Array(set.image(i))
            let ox = (i % columns) * (w + 1), oy = (i / columns) * (h + 1)
            for y in 0..<h { for x in 0..<w {
                pixels[(oy + y) * width + ox + x] = UInt8((min(max(image[y * w + x], 0), 1) * 255).rounded())
            } }
        }
        return PNGEncoder.grey(pixels, width: width, height: height)
    }
}
