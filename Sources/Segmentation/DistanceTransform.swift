/// Exact Euclidean distance transform on an anisotropic 3D grid (Felzenszwalb & Huttenlocher,
/// "Distance Transforms of Sampled Functions", 2012).
///
/// For feature voxels F (true in `features`), the result at voxel p is
///   dt(p) = min_{q in F} sqrt( sum_a (s_a (p_a - q_a))^2 )
/// with s_a the spacing along axis a; +infinity where F is empty. The squared distance is
/// separable: one 1D pass per axis computes
///   g(p) = min_q ( s^2 (p - q)^2 + f(q) )
/// as the lower envelope of the parabolas rooted at each q (linear time per line), where f is
/// the previous pass's result (0 on features, +infinity elsewhere for the first pass).
public enum DistanceTransform {
    /// Euclidean distances in mm to the nearest feature voxel, [depth, height, width] C order.
    public static func euclidean(features: [Bool], shape: [Int], spacing: [Double]) -> [Double] {
        squaredEuclidean(features: features, shape: shape, spacing: spacing).map { $0.squareRoot() }
    }

    /// Squared distances (see `euclidean`).
    public static func squaredEuclidean(features: [Bool], shape: [Int], spacing: [Double]) -> [Double] {
        precondition(shape.count == 3 && spacing.count == 3 && features.count == shape.reduce(1, *), "3D features with spacing")
        var values = features.map { $0 ? 0.0 : Double.infinity }
        let strides = [shape[1] * shape[2], shape[2], 1]
        var line = [Double](), out = [Double]()
        for axis in 0..<3 {
            let n = shape[axis], stride = strides[axis]
            line = [Double](repeating: 0, count: n)
            out = [Double](repeating: 0, count: n)
            let others = (0..<3).filter { $0 != axis }
            for i in 0..<shape[others[0]] {
                for j in 0..<shape[others[1]] {
                    let start = i * strides[others[0]] + j * strides[others[1]]
                    for k in 0..<n { line[k] = values[start + k * stride] }
                    lowerEnvelope(line, spacing: spacing[axis], into: &out)
                    for k in 0..<n { values[start + k * stride] = out[k] }
                }
            }
        }
        return values
    }

    /// One 1D pass: out[p] = min_q (s (p - q))^2 + f[q], over the finite f[q] (+infinity when
    /// none is finite).
    static func lowerEnvelope(_ f: [Double], spacing s: Double, into out: inout [Double]) {
        let n = f.count
        var roots = [Int](repeating: 0, count: n)            // v: parabola roots in the envelope
        var bounds = [Double](repeating: 0, count: n + 1)    // z: where each parabola takes over
        var k = -1
        // Intersection of the parabolas rooted at q and v (positions in mm: q s and v s).
        func intersection(_ q: Int, _ v: Int) -> Double {
            let pq = Double(q) * s, pv = Double(v) * s
            return ((f[q] + pq * pq) - (f[v] + pv * pv)) / (2 * (pq - pv))
        }
        for q in 0..<n where f[q].isFinite {
            if k < 0 {
                k = 0; roots[0] = q; bounds[0] = -.infinity; bounds[1] = .infinity
                continue
            }
            var z = intersection(q, roots[k])
            while z <= bounds[k] {
                k -= 1
                if k < 0 { break }
                z = intersection(q, roots[k])
            }
            if k < 0 {
                k = 0; roots[0] = q; bounds[0] = -.infinity; bounds[1] = .infinity
                continue
            }
            k += 1
            roots[k] = q; bounds[k] = z; bounds[k + 1] = .infinity
        }
        guard k >= 0 else {
            for p in 0..<n { out[p] = .infinity }
            return
        }
        var j = 0
        for p in 0..<n {
            let position = Double(p) * s
            while bounds[j + 1] < position { j += 1 }
            let d = position - Double(roots[j]) * s
            out[p] = d * d + f[roots[j]]
        }
    }
}
