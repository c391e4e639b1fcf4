import ResNetTraining

extension RunSummary {
    /// The training steps' time of this run alone, robust to stalls from other jobs on a shared
    /// machine: each epoch at the lower decile of its level's epoch times (`EpochCosts` over this run;
    /// evaluation, checkpoints and the switch itself excluded). Without a history, the measured
    /// `trainSeconds`. Reports of several runs pool them (`EpochCosts`).
    public var robustTrainingSeconds: Double { EpochCosts([self]).trainingSeconds(self) }

    /// `robustTrainingSeconds` per level, in level order.
    public var robustLevelSeconds: [Double] { EpochCosts([self]).levelSeconds(self) }

    /// The share of `deep`'s training time this run saved, the two runs' epochs pooled
    /// (`EpochCosts`): (deep − this) / deep, negative when this run took longer.
    func timeSaving(versus deep: RunSummary) -> Double { EpochCosts([self, deep]).saving(self, versus: deep) }
}
