/// LwfSeg (Ozdemir et al. 2018, §2.1): learning without forgetting for segmentation, α L_c +
/// (1 − α) L_d on the new data, the soft targets of the frozen previous model standing in for
/// the old structures' labels; no exemplars.
public enum LwfSeg: SegmentationMethod {
    public static let name = "lwfseg"
    public static let summary = "distillation of the old heads on the new data (no exemplars)"
    public static let plan = IncrementPlan(start: .previous, distil: true, replay: .none)
}
