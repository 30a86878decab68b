/// CoRiSeg (Ozdemir et al. 2018, eq. (3)): LwfSeg plus exemplars chosen by MC-dropout certainty
/// and greedy maximum set cover over the content distance (VGG16, or the U-Net's own encoder
/// without VGG16 weights; the model says which).
public enum CoRiSeg: SegmentationMethod {
    public static let name = "coriseg"
    public static let summary = "LwfSeg with exemplars by MC-dropout certainty and set cover over the content distance"
    public static let plan = IncrementPlan(start: .previous, distil: true, replay: .exemplars(.content))
}
