/// The orthogonal factor of a 3x3 matrix (the closest shear-free matrix), computed the way
/// nibabel's `io_orientation` does it: from the singular value decomposition A = U S Vᵀ,
/// keeping only singular values above `max(S) * 3 * eps`, R = U_kept V_keptᵀ.
///
/// The SVD comes from a cyclic Jacobi eigen-decomposition of AᵀA (3x3, double precision),
/// which is accurate to a few ulps for the well-conditioned matrices of real affines.
enum PolarDecomposition {
    /// `a` row-major 3x3; returns R row-major 3x3.
    static func orthogonalFactor(_ a: [Double]) -> [Double] {
        // B = AᵀA (symmetric).
        var b = [Double](repeating: 0, count: 9)
        for r in 0..<3 { for c in 0..<3 { b[r * 3 + c] = (0..<3).reduce(0.0) { $0 + a[$1 * 3 + r] * a[$1 * 3 + c] } } }
        var v: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<64 {
            let off = b[1] * b[1] + b[2] * b[2] + b[5] * b[5]
            let diagonal = b[0] * b[0] + b[4] * b[4] + b[8] * b[8]
            if off <= diagonal * 1e-32 || off == 0 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] {
                let apq = b[p * 3 + q]
                if apq == 0 { continue }
                let theta = (b[q * 3 + q] - b[p * 3 + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot()
                let s = t * c
                // B <- JᵀBJ, V <- VJ for the rotation J in the (p, q) plane.
                for k in 0..<3 {
                    let bkp = b[k * 3 + p], bkq = b[k * 3 + q]
                    b[k * 3 + p] = c * bkp - s * bkq
                    b[k * 3 + q] = s * bkp + c * bkq
                }
                for k in 0..<3 {
                    let bpk = b[p * 3 + k], bqk = b[q * 3 + k]
                    b[p * 3 + k] = c * bpk - s * bqk
                    b[q * 3 + k] = s * bpk + c * bqk
                }
                for k in 0..<3 {
                    let vkp = v[k * 3 + p], vkq = v[k * 3 + q]
                    v[k * 3 + p] = c * vkp - s * vkq
                    v[k * 3 + q] = s * vkp + c * vkq
                }
            }
        }
        let singular = (0..<3).map { max(b[$0 * 4], 0).squareRoot() }
        let tolerance = (singular.max() ?? 0) * 3 * Double.ulpOfOne
        var r = [Double](repeating: 0, count: 9)
        for i in 0..<3 where singular[i] > tolerance {
            // u_i = A v_i / s_i
            let vi = (0..<3).map { v[$0 * 3 + i] }
            let ui = (0..<3).map { row in (0..<3).reduce(0.0) { $0 + a[row * 3 + $1] * vi[$1] } / singular[i] }
            for row in 0..<3 { for col in 0..<3 { r[row * 3 + col] += ui[row] * vi[col] } }
        }
        return r
    }
}
