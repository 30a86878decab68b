/// AeiSeg (Ozdemir et al. 2018, §2.2): LwfSeg plus exemplars chosen by MC-dropout certainty and
/// greedy maximum set cover over abstraction-layer cosine distances.
public enum AeiSeg: SegmentationMethod {
    public static let name = "aeiseg"
    public static let summary = "LwfSeg with exemplars by MC-dropout certainty and set cover over abstraction-layer descriptors"
    public static let plan = IncrementPlan(start: .previous, distil: true, replay: .exemplars(.abstraction))
}
