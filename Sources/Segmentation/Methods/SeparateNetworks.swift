/// One network per structure: the previous network keeps segmenting the old structures and a
/// fresh network, trained as CurSeg, the new one (the paper's HumSeg + ScapSeg upper bounds).
public enum SeparateNetworks: SegmentationMethod {
    public static let name = "separate"
    public static let summary = "one network per structure: the previous network for the old, a fresh one for the new (upper bound)"
    public static let plan = IncrementPlan(start: .fresh, distil: false, replay: .none, keepsPreviousNetwork: true)
}
