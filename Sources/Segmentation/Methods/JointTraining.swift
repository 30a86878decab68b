/// Joint training: a fresh network with a head per increment, trained on all data with all
/// annotations (old data replayed with its real labels at the exemplar ratio); an upper bound
/// that needs the old images, which incremental methods do not have.
public enum JointTraining: SegmentationMethod {
    public static let name = "joint"
    public static let summary = "a fresh network on all data and all annotations (upper bound; needs the old data)"
    public static let plan = IncrementPlan(start: .fresh, distil: false, replay: .oldData)
}
