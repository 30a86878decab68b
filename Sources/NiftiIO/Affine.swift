import Foundation

/// A 4x4 voxel-to-world matrix (row-major, last row 0 0 0 1): world (x, y, z) in
/// millimetres = `affine * (i, j, k, 1)` for voxel indices (i, j, k). NIfTI's world space is
/// RAS+ (x to the subject's right, y anterior, z superior).
public struct Affine: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Row-major elements, 16 values.
    public var elements: [Double]

    public init(rows: [[Double]]) {
        precondition(rows.count == 4 && rows.allSatisfy { $0.count == 4 }, "an affine has 4 rows of 4")
        elements = rows.flatMap { $0 }
    }

    public init(elements: [Double]) {
        precondition(elements.count == 16, "an affine has 16 elements")
        self.elements = elements
    }

    public static let identity = Affine(elements: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])

    /// Diagonal scaling by the voxel sizes, origin at voxel (0, 0, 0).
    public static func scaling(_ x: Double, _ y: Double, _ z: Double) -> Affine {
        Affine(elements: [x, 0, 0, 0, 0, y, 0, 0, 0, 0, z, 0, 0, 0, 0, 1])
    }

    public subscript(row: Int, column: Int) -> Double {
        get { elements[row * 4 + column] }
        set { elements[row * 4 + column] = newValue }
    }

    public var rows: [[Double]] { (0..<4).map { Array(elements[($0 * 4)..<($0 * 4 + 4)]) } }

    public static func * (a: Affine, b: Affine) -> Affine {
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<4 {
            for c in 0..<4 {
                var sum = 0.0
                for k in 0..<4 { sum += a.elements[r * 4 + k] * b.elements[k * 4 + c] }
                out[r * 4 + c] = sum
            }
        }
        return Affine(elements: out)
    }

    /// World coordinates of a voxel position.
    public func apply(_ p: (Double, Double, Double)) -> (Double, Double, Double) {
        let e = elements
        return (e[0] * p.0 + e[1] * p.1 + e[2] * p.2 + e[3],
                e[4] * p.0 + e[5] * p.1 + e[6] * p.2 + e[7],
                e[8] * p.0 + e[9] * p.1 + e[10] * p.2 + e[11])
    }

    /// The 3x3 rotation-zoom-shear part, row-major.
    public var linear: [Double] { [self[0, 0], self[0, 1], self[0, 2], self[1, 0], self[1, 1], self[1, 2], self[2, 0], self[2, 1], self[2, 2]] }

    /// Voxel sizes along the three voxel axes: the lengths of the first three columns.
    public var zooms: [Double] {
        (0..<3).map { c in (0..<3).reduce(0.0) { $0 + self[$1, c] * self[$1, c] }.squareRoot() }
    }

    /// The inverse (world to voxel). Throws when the 3x3 part is singular.
    public func inverse() throws(NiftiError) -> Affine {
        let m = linear
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        guard det != 0, det.isFinite else { throw .badHeader("the affine is singular (determinant \(det))") }
        let inv: [Double] = [
            (m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det, (m[1] * m[5] - m[2] * m[4]) / det,
            (m[5] * m[6] - m[3] * m[8]) / det, (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
            (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det, (m[0] * m[4] - m[1] * m[3]) / det,
        ]
        let t = [self[0, 3], self[1, 3], self[2, 3]]
        var out = [Double](repeating: 0, count: 16)
        for r in 0..<3 {
            for c in 0..<3 { out[r * 4 + c] = inv[r * 3 + c] }
            out[r * 4 + 3] = -(inv[r * 3] * t[0] + inv[r * 3 + 1] * t[1] + inv[r * 3 + 2] * t[2])
        }
        out[15] = 1
        return Affine(elements: out)
    }

    /// Largest absolute difference between corresponding elements.
    public func maxDifference(to other: Affine) -> Double {
        zip(elements, other.elements).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    public var isFinite: Bool { elements.allSatisfy(\.isFinite) }

    public var description: String {
        rows.prefix(3).map { row in row.map { String(format: "%10.4f", $0) }.joined(separator: " ") }.joined(separator: "\n")
    }

    // Codable as a list of 4 rows, the way numpy prints it.
    public init(from decoder: Decoder) throws {
        let rows = try decoder.singleValueContainer().decode([[Double]].self)
        guard rows.count == 4, rows.allSatisfy({ $0.count == 4 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an affine is 4 rows of 4 numbers"))
        }
        self.init(rows: rows)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rows)
    }
}
