import ResNetTraining

extension RunSummary {
    /// The share of `deep`'s training time this run saved: (deep − this) / deep, negative when
    /// this run took longer. Every report's "saving vs deep" is this figure.
    func timeSaving(versus deep: RunSummary) -> Double {
        (deep.trainSeconds - trainSeconds) / deep.trainSeconds
    }
}
