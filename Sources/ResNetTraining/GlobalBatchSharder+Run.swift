import ResNetData

extension GlobalBatchSharder {
    /// A run's sharding: `data`'s training set in global batches of the config's batch size,
    /// shuffled by its seed.
    package init(_ config: ExperimentConfig, _ data: TrainingData) {
        self.init(datasetSize: data.trainCount, globalBatchSize: config.batchSize, seed: UInt64(config.seed))
    }
}
