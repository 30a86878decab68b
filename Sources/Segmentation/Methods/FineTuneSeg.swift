/// Fine-tuning: the previous network with a new head, trained with L_c on the new data only;
/// nothing holds the shared body to the old structures (catastrophic forgetting).
public enum FineTuneSeg: SegmentationMethod {
    public static let name = "fine-tune"
    public static let summary = "the previous network with a new head, L_c on the new data only (baseline)"
    public static let plan = IncrementPlan(start: .previous, distil: false, replay: .none)
}
