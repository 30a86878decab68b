/// ReSeg (the reference code's baseline): LwfSeg plus exemplar batches of randomly chosen
/// old slices (k_r per structure), L_d alone on those batches.
public enum ReSeg: SegmentationMethod {
    public static let name = "reseg"
    public static let summary = "LwfSeg with random exemplars, k_r per structure"
    public static let plan = IncrementPlan(start: .previous, distil: true, replay: .exemplars(.random))
}
