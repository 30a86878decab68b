extension ExperimentSettings {
    /// The settings of sample order `order` (1, 2, ...): the order training samples are drawn
    /// in. Order 1 is these settings; order k adds 1000 (k - 1) to the seed of every training
    /// stage (base classifier, experts, Combine & Retrain, fine-tuning, fusion and its feature
    /// augmentation), so initialisation, shuffling, augmentation and dropout differ from order
    /// to order while the data stay the same. One run is one sample of these; results are
    /// reported as mean ± sd over orders.
    public func sampleOrder(_ order: Int) -> ExperimentSettings {
        precondition(order >= 1, "sample orders count from 1")
        let shift = 1000 * UInt64(order - 1)
        var settings = self
        settings.base.seed &+= shift
        settings.expert.seed &+= shift
        settings.combined.seed &+= shift
        settings.fineTune.seed &+= shift
        settings.fusion.seed &+= shift
        return settings
    }
}
