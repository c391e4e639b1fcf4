import ResNetData

/// The trainer's view of the data sharding: which samples this rank takes in each step.
package struct GlobalBatchPlan {
    let sharder: GlobalBatchSharder

    package init(datasetSize: Int, batchSize: Int, seed: UInt64) {
        sharder = GlobalBatchSharder(datasetSize: datasetSize, globalBatchSize: batchSize, seed: seed)
    }

    package var stepsPerEpoch: Int { sharder.stepsPerEpoch }

    /// The epoch's permutation, computed once per epoch from (seed, epoch) on every rank.
    package func epoch(_ epoch: Int) -> EpochPlan { sharder.epoch(epoch) }

    static func evaluationRange(count: Int, rank: Int, ranks: Int) -> Range<Int> {
        GlobalBatchSharder.evaluationRange(count: count, rank: rank, worldSize: ranks)
    }
}
