/// CurSeg: a fresh network trained on the new increment's data only (it knows only the new
/// structures; the upper bound of the new structure, the paper's ScapSeg).
public enum CurSeg: SegmentationMethod {
    public static let name = "curseg"
    public static let summary = "a fresh network on the new data only (upper bound of the new structure)"
    public static let plan = IncrementPlan(start: .fresh, distil: false, replay: .none)
}
