/// Finds the ultrasound sector from what changes across frames, as EchoPrime does: pixels
/// whose grey level varies over the cine are imaging data; burned-in text, rulers and
/// calipers do not change, and colour ECG traces are excluded by their colour. The largest
/// connected region of changing pixels is closed into its convex hull (the sector is
/// convex), which fills dark blood pools and gives the mask.
///
/// Single frames have no motion; their "activity" is brightness instead (the area outside
/// the sector is black).
public enum SectorDetector {
    public struct Result: Equatable, Sendable {
        /// Hull bounding box, in the coordinates of the searched image.
        public var box: PixelBox
        /// Inside-the-sector flags over the searched image (row-major).
        public var mask: [Bool]
        /// Fraction of the searched image inside the hull.
        public var coverage: Double
    }

    /// - Parameters:
    ///   - frames: grey images (`width` x `height`) sampled across the cine.
    ///   - excluded: pixels to ignore (colourful ones), or empty.
    ///   - stdThreshold: grey-level standard deviation above which a pixel is "changing".
    ///   - brightnessThreshold: for single frames, the grey level above which a pixel counts.
    ///   - minimumCoverage: smaller regions are not a sector (returns nil).
    public static func detect(frames: [[UInt8]], width: Int, height: Int, excluded: [Bool] = [],
                              stdThreshold: Float = 1.0, brightnessThreshold: Float = 8,
                              minimumCoverage: Double = 0.02) -> Result? {
        guard !frames.isEmpty, width > 2, height > 2 else { return nil }
        let count = width * height
        var active = [Bool](repeating: false, count: count)
        if frames.count >= 2 {
            var sum = [Float](repeating: 0, count: count)
            var sumSq = [Float](repeating: 0, count: count)
            for frame in frames {
                for k in 0..<count {
                    let v = Float(frame[k])
                    sum[k] += v
                    sumSq[k] += v * v
                }
            }
            let n = Float(frames.count)
            let limit = stdThreshold * stdThreshold
            for k in 0..<count {
                let mean = sum[k] / n
                active[k] = sumSq[k] / n - mean * mean > limit
            }
        } else {
            for k in 0..<count { active[k] = Float(frames[0][k]) > brightnessThreshold }
        }
        if !excluded.isEmpty {
            for k in 0..<count where excluded[k] { active[k] = false }
        }
        // Erode once (3x3) so that thin lines touching the sector (an ECG trace, a ruler)
        // do not join it.
        var eroded = [Bool](repeating: false, count: count)
        for y in 1..<(height - 1) {
            for x in 1..<(width - 1) {
                let k = y * width + x
                guard active[k] else { continue }
                eroded[k] = active[k - 1] && active[k + 1] && active[k - width] && active[k + width]
                    && active[k - width - 1] && active[k - width + 1] && active[k + width - 1] && active[k + width + 1]
            }
        }
        guard let component = largestComponent(eroded, width: width, height: height) else { return nil }
        // Hull of the component's leftmost and rightmost pixel on each row (dilated by the
        // eroded pixel).
        var points: [(Double, Double)] = []
        for (y, span) in component.rows.enumerated() where span.0 <= span.1 {
            let row = Double(component.firstRow + y)
            points.append((Double(span.0) - 1, row - 1)); points.append((Double(span.1) + 1, row - 1))
            points.append((Double(span.0) - 1, row + 1)); points.append((Double(span.1) + 1, row + 1))
        }
        let hull = convexHull(points)
        guard hull.count >= 3 else { return nil }
        var mask = [Bool](repeating: false, count: count)
        var inside = 0
        var box = PixelBox(x0: width, y0: height, x1: -1, y1: -1)
        for y in 0..<height {
            guard let (lo, hi) = span(of: hull, atRow: Double(y)) else { continue }
            let from = max(Int(lo.rounded(.up)), 0), to = min(Int(hi.rounded(.down)), width - 1)
            guard from <= to else { continue }
            for x in from...to { mask[y * width + x] = true }
            inside += to - from + 1
            box.x0 = min(box.x0, from); box.x1 = max(box.x1, to)
            box.y0 = min(box.y0, y); box.y1 = max(box.y1, y)
        }
        let coverage = Double(inside) / Double(count)
        guard coverage >= minimumCoverage, box.x1 >= box.x0 else { return nil }
        return Result(box: box, mask: mask, coverage: coverage)
    }

    struct Component {
        var firstRow: Int
        /// (min x, max x) per row from firstRow.
        var rows: [(Int, Int)]
        var size: Int
    }

    /// The largest 4-connected set of true pixels.
    static func largestComponent(_ image: [Bool], width: Int, height: Int) -> Component? {
        var labels = [Int32](repeating: 0, count: image.count)
        var best: (label: Int32, size: Int) = (0, 0)
        var next: Int32 = 0
        var stack: [Int] = []
        for start in 0..<image.count where image[start] && labels[start] == 0 {
            next += 1
            labels[start] = next
            stack.append(start)
            var size = 0
            while let k = stack.popLast() {
                size += 1
                let x = k % width, y = k / width
                if x > 0, image[k - 1], labels[k - 1] == 0 { labels[k - 1] = next; stack.append(k - 1) }
                if x + 1 < width, image[k + 1], labels[k + 1] == 0 { labels[k + 1] = next; stack.append(k + 1) }
                if y > 0, image[k - width], labels[k - width] == 0 { labels[k - width] = next; stack.append(k - width) }
                if y + 1 < height, image[k + width], labels[k + width] == 0 { labels[k + width] = next; stack.append(k + width) }
            }
            if size > best.size { best = (next, size) }
        }
        guard best.size > 0 else { return nil }
        var firstRow = height, lastRow = -1
        var rows = [(Int, Int)](repeating: (Int.max, Int.min), count: height)
        for k in 0..<labels.count where labels[k] == best.label {
            let x = k % width, y = k / width
            rows[y] = (min(rows[y].0, x), max(rows[y].1, x))
            firstRow = min(firstRow, y); lastRow = max(lastRow, y)
        }
        return Component(firstRow: firstRow, rows: Array(rows[firstRow...lastRow]), size: best.size)
    }

    /// Andrew's monotone chain; returns the hull counter-clockwise without repeats.
    static func convexHull(_ input: [(Double, Double)]) -> [(Double, Double)] {
        let points = input.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        guard points.count >= 3 else { return points }
        func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
            (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
        }
        var lower: [(Double, Double)] = []
        for p in points {
            while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], p) <= 0 { lower.removeLast() }
            lower.append(p)
        }
        var upper: [(Double, Double)] = []
        for p in points.reversed() {
            while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], p) <= 0 { upper.removeLast() }
            upper.append(p)
        }
        return Array(lower.dropLast()) + Array(upper.dropLast())
    }

    /// The x-interval a convex polygon covers on the horizontal line y = `row`.
    static func span(of polygon: [(Double, Double)], atRow row: Double) -> (Double, Double)? {
        var lo = Double.infinity, hi = -Double.infinity
        for k in 0..<polygon.count {
            let a = polygon[k], b = polygon[(k + 1) % polygon.count]
            if (a.1 <= row && row <= b.1) || (b.1 <= row && row <= a.1) {
                if a.1 == b.1 {
                    lo = min(lo, a.0, b.0); hi = max(hi, a.0, b.0)
                } else {
                    let x = a.0 + (row - a.1) * (b.0 - a.0) / (b.1 - a.1)
                    lo = min(lo, x); hi = max(hi, x)
                }
            }
        }
        return lo <= hi ? (lo, hi) : nil
    }
}
