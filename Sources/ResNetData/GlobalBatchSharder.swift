/// Exact data-parallel sharding of global batches.
///
/// Every epoch all ranks compute the same permutation of the `datasetSize` samples from
/// (seed, epoch). The permutation is cut into `stepsPerEpoch` consecutive global batches of
/// `globalBatchSize` samples (the last one shorter if the size does not divide), and each global
/// batch into `worldSize` contiguous parts whose sizes differ by at most one. Every sample is used
/// exactly once per epoch; nothing is padded or dropped.
///
/// A rank whose part is empty (a batch smaller than the number of ranks) still gets a `Shard` for
/// that step and must take part in the step's collectives. With the loss summed over a rank's
/// samples and divided by `Shard.globalBatchSize`, the allreduced gradient equals the one a single
/// process computes on the whole batch.
///
/// ```swift
/// let sharder = GlobalBatchSharder(datasetSize: train.count, globalBatchSize: 1024, seed: 7)
/// for epoch in 0 ..< epochs {
///     let plan = sharder.epoch(epoch)
///     for step in 0 ..< plan.stepsPerEpoch {
///         let shard = plan.shard(step: step, rank: rank, worldSize: size)
///         // forward/backward on shard.indices, loss / Float(shard.globalBatchSize), allreduce
///     }
/// }
/// ```
public struct GlobalBatchSharder: Sendable {
    public let datasetSize: Int
    public let globalBatchSize: Int
    public let seed: UInt64
    /// When false, every epoch visits the samples in order 0..<datasetSize (for tests and evaluation).
    public let shuffle: Bool

    public init(datasetSize: Int, globalBatchSize: Int, seed: UInt64, shuffle: Bool = true) {
        precondition(datasetSize >= 0, "dataset size must be non-negative")
        precondition(globalBatchSize > 0, "global batch size must be positive")
        self.datasetSize = datasetSize
        self.globalBatchSize = globalBatchSize
        self.seed = seed
        self.shuffle = shuffle
    }

    /// Number of global batches per epoch, the last possibly shorter; the same on every rank.
    public var stepsPerEpoch: Int { (datasetSize + globalBatchSize - 1) / globalBatchSize }

    /// Size of global batch `step`: `globalBatchSize`, except a shorter last batch.
    public func batchSize(step: Int) -> Int {
        precondition(step >= 0 && step < stepsPerEpoch, "step \(step) out of range 0..<\(stepsPerEpoch)")
        return min(globalBatchSize, datasetSize - step * globalBatchSize)
    }

    /// The epoch's sample order, identical on every rank.
    public func permutation(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0 ..< datasetSize) }
        var rng = SplitMix64(seed: seed, streams: 0x7368_7566, UInt64(bitPattern: Int64(epoch)))
        return deterministicPermutation(count: datasetSize, rng: &rng)
    }

    /// The plan of one epoch: computes the permutation once, then hands out shards.
    public func epoch(_ epoch: Int) -> EpochPlan {
        EpochPlan(sharder: self, epoch: epoch, permutation: permutation(epoch: epoch))
    }

    /// One rank's share of one step (computes the epoch's permutation; use `epoch(_:)` in loops).
    public func shard(epoch: Int, step: Int, rank: Int, worldSize: Int) -> Shard {
        self.epoch(epoch).shard(step: step, rank: rank, worldSize: worldSize)
    }

    /// The contiguous range of part `part` when `count` items are cut into `parts` pieces whose
    /// sizes differ by at most one (the first `count % parts` pieces are one longer).
    public static func partRange(count: Int, part: Int, parts: Int) -> Range<Int> {
        precondition(parts > 0 && part >= 0 && part < parts, "part \(part) out of range 0..<\(parts)")
        precondition(count >= 0, "count must be non-negative")
        let base = count / parts, extra = count % parts
        let start = part * base + min(part, extra)
        return start ..< start + base + (part < extra ? 1 : 0)
    }

    /// The test-set samples rank `rank` evaluates: a contiguous range, sizes differ by at most one.
    /// Ranks reduce their correct-counts (or error sums) and the sample counts afterwards.
    public static func evaluationRange(count: Int, rank: Int, worldSize: Int) -> Range<Int> {
        partRange(count: count, part: rank, parts: worldSize)
    }
}

/// One epoch of a `GlobalBatchSharder`: the permutation and the shards cut from it.
public struct EpochPlan: Sendable {
    public let sharder: GlobalBatchSharder
    public let epoch: Int
    /// The sample order of this epoch.
    public let permutation: [Int]

    public var stepsPerEpoch: Int { sharder.stepsPerEpoch }

    /// All samples of global batch `step`, in order.
    public func globalBatch(step: Int) -> ArraySlice<Int> {
        let start = step * sharder.globalBatchSize
        return permutation[start ..< start + sharder.batchSize(step: step)]
    }

    /// Rank `rank`'s contiguous part of global batch `step` among `worldSize` ranks.
    public func shard(step: Int, rank: Int, worldSize: Int) -> Shard {
        let batch = globalBatch(step: step)
        let part = GlobalBatchSharder.partRange(count: batch.count, part: rank, parts: worldSize)
        let indices = Array(batch[(batch.startIndex + part.lowerBound) ..< (batch.startIndex + part.upperBound)])
        return Shard(epoch: epoch, step: step, stepsPerEpoch: stepsPerEpoch,
                     indices: indices, globalBatchSize: batch.count, offsetInBatch: part.lowerBound)
    }
}

/// What one rank does in one step.
public struct Shard: Sendable, Equatable {
    public let epoch: Int
    public let step: Int
    public let stepsPerEpoch: Int
    /// Dataset indices this rank processes; may be empty, the rank still joins the collectives.
    public let indices: [Int]
    /// Number of samples in the whole global batch over all ranks: the loss normaliser.
    public let globalBatchSize: Int
    /// Position of `indices[0]` within the global batch (where this part starts).
    public let offsetInBatch: Int
}
