/// Optional post-processing: keep only the largest connected component of a structure's
/// mask. Ozdemir et al. 2018 blame their high surface distances on small false-positive
/// blobs away from the bone; dropping every component but the largest removes them (and would
/// also remove a genuinely split structure, which is why it is optional).
///
/// Components are 6-connected (face neighbours; scipy.ndimage.label's default structure) or
/// 26-connected; of equal largest components the first met in C order is kept (scipy labels
/// in that order and numpy's argmax takes the first maximum).
public enum LargestComponent {
    public enum Connectivity: String, Sendable, Codable {
        case face
        case full
    }

    public static func keep(_ mask: MaskVolume, connectivity: Connectivity = .face) -> MaskVolume {
        let (d, h, w) = (mask.shape[0], mask.shape[1], mask.shape[2])
        var offsets: [(Int, Int, Int)] = []
        for dz in -1...1 {
            for dy in -1...1 {
                for dx in -1...1 where (dz, dy, dx) != (0, 0, 0) {
                    if connectivity == .full || abs(dz) + abs(dy) + abs(dx) == 1 { offsets.append((dz, dy, dx)) }
                }
            }
        }
        var component = [Int](repeating: -1, count: mask.count)
        var best = (label: -1, size: 0)
        var stack: [Int] = []
        var label = 0
        for start in 0..<mask.count where mask.voxels[start] && component[start] < 0 {
            component[start] = label
            stack.append(start)
            var size = 0
            while let i = stack.popLast() {
                size += 1
                let z = i / (h * w), y = (i / w) % h, x = i % w
                for (dz, dy, dx) in offsets {
                    let (nz, ny, nx) = (z + dz, y + dy, x + dx)
                    guard nz >= 0, nz < d, ny >= 0, ny < h, nx >= 0, nx < w else { continue }
                    let j = (nz * h + ny) * w + nx
                    if mask.voxels[j] && component[j] < 0 {
                        component[j] = label
                        stack.append(j)
                    }
                }
            }
            if size > best.size { best = (label, size) }
            label += 1
        }
        var out = mask
        out.voxels = component.map { $0 >= 0 && $0 == best.label }
        return out
    }
}
