/// A pairwise distance matrix D [N, N] over training slices, served one row at a time, so
/// that exemplar selection never holds the N x N matrix: the set cover needs only the rows
/// of its candidates, and min-max normalisation needs only one row at a time.
public protocol DistanceRows: Sendable {
    /// N, the number of slices.
    var count: Int { get }
    /// Row i: D[i, j] for j in 0..<N.
    func row(_ i: Int) -> [Double]
}

/// A matrix already in memory (small problems and tests).
public struct DenseDistances: DistanceRows {
    public let values: [[Double]]

    public init(_ values: [[Double]]) throws {
        guard values.allSatisfy({ $0.count == values.count }) else {
            throw SegmentationError.invalid("a distance matrix must be square, not \(values.count) rows of lengths \(Set(values.map(\.count)).sorted())")
        }
        self.values = values
    }

    public var count: Int { values.count }
    public func row(_ i: Int) -> [Double] { values[i] }
}

/// Min-max normalisation over the whole matrix (diagonal included):
///   D'[i, j] = (D[i, j] − min D) / (max D − min D),   or 0 everywhere when max D = min D.
/// `invert` gives 1 − D' instead, which turns a similarity S into the distance
/// 1 − (S − min S) / (max S − min S) of AeiSeg.
///
/// The extremes come from one pass over all N rows (O(N²) distance evaluations, O(N) memory).
/// Being a positive affine map of D (or of −S), it does not change which slices the greedy
/// cover picks; it puts the coverage F on the [0, N] scale of the paper's definition.
public struct MinMaxNormalized<Base: DistanceRows>: DistanceRows {
    public let base: Base
    public let invert: Bool
    public let minimum: Double
    public let maximum: Double

    public init(_ base: Base, invert: Bool = false) {
        var lo = Double.infinity, hi = -Double.infinity
        for i in 0..<base.count {
            for value in base.row(i) {
                lo = Swift.min(lo, value)
                hi = Swift.max(hi, value)
            }
        }
        self.base = base
        self.invert = invert
        minimum = lo
        maximum = hi
    }

    public var count: Int { base.count }

    public func row(_ i: Int) -> [Double] {
        let range = maximum - minimum
        return base.row(i).map { value in
            let scaled = range > 0 ? (value - minimum) / range : 0
            return invert ? 1 - scaled : scaled
        }
    }
}

/// Cosine similarity S[i, j] = <d_i, d_j> / (|d_i| |d_j|) of descriptors (rows of a
/// [N, dims] matrix); a zero descriptor has similarity 0 to everything. AeiSeg's distance is
/// `MinMaxNormalized(CosineSimilarities(descriptors), invert: true)`.
public struct CosineSimilarities: DistanceRows {
    public let dims: Int
    private let unit: [Double]

    public init(descriptors: [Float], dims: Int) throws {
        guard dims > 0, descriptors.count % dims == 0, !descriptors.isEmpty else {
            throw SegmentationError.invalid("\(descriptors.count) descriptor values are not rows of \(dims)")
        }
        self.dims = dims
        var unit = descriptors.map(Double.init)
        for i in 0..<(descriptors.count / dims) {
            let row = unit[(i * dims)..<((i + 1) * dims)]
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for k in 0..<dims { unit[i * dims + k] = norm > 0 ? unit[i * dims + k] / norm : 0 }
        }
        self.unit = unit
    }

    public var count: Int { unit.count / dims }

    public func row(_ i: Int) -> [Double] {
        unit.withUnsafeBufferPointer { u in
            let a = u.baseAddress! + i * dims
            return (0..<count).map { j in
                let b = u.baseAddress! + j * dims
                var dot = 0.0
                for k in 0..<dims { dot += a[k] * b[k] }
                return dot
            }
        }
    }
}

/// AeiSeg's distance over abstraction-layer descriptors [N, dims]:
/// D = 1 − (S − min S) / (max S − min S) with S the cosine similarities.
public func abstractionDistances(descriptors: [Float], dims: Int) throws -> MinMaxNormalized<CosineSimilarities> {
    MinMaxNormalized(try CosineSimilarities(descriptors: descriptors, dims: dims), invert: true)
}
