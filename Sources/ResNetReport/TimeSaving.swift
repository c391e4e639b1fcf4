import ResNetTraining

extension RunSummary {
    /// The training steps' time, robust to stalls from other jobs on a shared machine: per level,
    /// the number of epochs times the median epoch time (evaluation, checkpoints and the switch
    /// itself excluded). Without a history, the measured `trainSeconds`.
    public var robustTrainingSeconds: Double {
        guard !history.isEmpty else { return trainSeconds }
        return Dictionary(grouping: history, by: \.level).values.reduce(0) { total, epochs in
            let times = epochs.map(\.epochSeconds).sorted()
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            return total + Double(times.count) * median
        }
    }

    /// `robustTrainingSeconds` per level, in level order (what the cost chart stacks).
    public var robustLevelSeconds: [Double] {
        guard !history.isEmpty else { return levelSeconds.isEmpty ? [trainSeconds] : levelSeconds }
        let byLevel = Dictionary(grouping: history, by: \.level)
        return byLevel.keys.sorted().map { level in
            let times = byLevel[level]!.map(\.epochSeconds).sorted()
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            return Double(times.count) * median
        }
    }

    /// The share of `deep`'s training time this run saved: (deep − this) / deep, negative when
    /// this run took longer, on `robustTrainingSeconds`. Every report's "saving vs deep" is this figure.
    func timeSaving(versus deep: RunSummary) -> Double {
        (deep.robustTrainingSeconds - robustTrainingSeconds) / deep.robustTrainingSeconds
    }
}
