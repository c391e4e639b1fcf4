import ResNetTraining

/// What one epoch of training steps costs, per kind of epoch, measured over every epoch of the
/// runs at hand: the lower decile (`SeedSample.lowerDecile`) of the times of all epochs that did
/// the same work on the same machine — the same experiment, rank count, blocks per group,
/// integrator, number of training samples and machine (`RunSummary.machine`; runs written before
/// it was recorded count as one machine). Every table, verdict and chart counts a run's training
/// time as the sum, over its epochs, of these costs.
///
/// The work of an epoch is fixed by those settings; its measured time is not: on a shared machine
/// another job can stretch any epoch several times over, and only ever upwards. The lower decile
/// is robust while at least a tenth of a kind's epochs ran undisturbed. (A median needs half:
/// the deep run of seed 2 of fashion-fast, 2026-12-06/07, ran beside builds, tests and CI with a
/// median epoch of 166 s against a least of 85 s, and the pooled median put deep's epoch at 113 s.)
/// Pooling every run of a comparison (the deep network's 50 epochs at 3 blocks with a multi-level
/// run's last level at 3 blocks, and every seed's) counts equal work as equal time on both sides
/// of a comparison. It assumes the runs pooled ran on one binary at one batch size, as a
/// `compare` job's do.
///
/// An epoch whose sample count is unknown (read from an old metrics.csv) is pooled only with the
/// other epochs of its level in its own run.
public struct EpochCosts: Sendable {
    struct Key: Hashable, Sendable {
        var experiment: String
        var ranks: Int
        var blocks: [Int]
        var integrator: String
        var samples: Int
        var machine: String?
        /// Set only when `samples` is unknown: the run and level the epoch belongs to.
        var ownRun: String?
        var level: Int?
    }

    /// Per kind of epoch, its cost (the lower decile of its times).
    private let costByKind: [Key: Double]
    /// Where each run was when the pool was built (for epochs of unknown size).
    private let runIndex: [String: Int]

    /// The costs over every epoch of `runs`.
    public init(_ runs: [RunSummary]) {
        var times: [Key: [Double]] = [:]
        for (index, run) in runs.enumerated() {
            for record in run.history {
                times[Self.key(record, run: run, index: index), default: []].append(record.epochSeconds)
            }
        }
        costByKind = times.mapValues { SeedSample($0).lowerDecile }
        runIndex = Dictionary(runs.enumerated().map { (Self.identity($0.element), $0.offset) }, uniquingKeysWith: { a, _ in a })
    }

    static func identity(_ run: RunSummary) -> String {
        run.runDirectory ?? "\(run.experiment)/\(run.variant)/\(run.seed.map(String.init) ?? "-")/\(run.epochs)"
    }

    static func key(_ record: EpochRecord, run: RunSummary, index: Int) -> Key {
        let samples = record.samplesPerSecond > 0 ? Int((record.epochSeconds * record.samplesPerSecond).rounded()) : -1
        return Key(experiment: run.experiment, ranks: run.ranks, blocks: record.blocks, integrator: record.integrator,
                   samples: samples, machine: run.machine, ownRun: samples < 0 ? "\(index):\(identity(run))" : nil,
                   level: samples < 0 ? record.level : nil)
    }

    /// Whether every one of `runs` was in the pool.
    public func covers(_ runs: [RunSummary]) -> Bool { runs.allSatisfy { runIndex[Self.identity($0)] != nil } }

    /// The cost of one of `run`'s epochs: its kind's lower decile, or its own time for a run outside the pool.
    public func seconds(_ record: EpochRecord, of run: RunSummary) -> Double {
        guard let index = runIndex[Self.identity(run)] else { return record.epochSeconds }
        return costByKind[Self.key(record, run: run, index: index)] ?? record.epochSeconds
    }

    /// The training steps' time after each of `run`'s epochs, cumulative.
    public func elapsed(_ run: RunSummary) -> [Double] {
        var total = 0.0
        return run.history.map { total += seconds($0, of: run); return total }
    }

    /// `run`'s training steps' time: its measured `trainSeconds` when it has no history.
    public func trainingSeconds(_ run: RunSummary) -> Double {
        run.history.isEmpty ? run.trainSeconds : elapsed(run).last ?? 0
    }

    /// The same per level, in level order (what the cost chart stacks).
    public func levelSeconds(_ run: RunSummary) -> [Double] {
        guard !run.history.isEmpty else { return run.levelSeconds.isEmpty ? [run.trainSeconds] : run.levelSeconds }
        var byLevel: [Int: Double] = [:]
        for r in run.history { byLevel[r.level, default: 0] += seconds(r, of: run) }
        return byLevel.keys.sorted().map { byLevel[$0]! }
    }

    /// The training steps' time until the test metric first reaches `target` (evaluated after each
    /// epoch); nil when the run never reaches it.
    public func timeToTarget(_ run: RunSummary, target: Double) -> Double? {
        for (record, time) in zip(run.history, elapsed(run))
        where run.testMetricName.isAccuracy ? record.testMetric >= target : record.testMetric <= target {
            return time
        }
        return nil
    }

    /// The share of `deep`'s training time `run` saved: (deep − run) / deep, negative when it took longer.
    public func saving(_ run: RunSummary, versus deep: RunSummary) -> Double {
        let base = trainingSeconds(deep)
        return (base - trainingSeconds(run)) / base
    }
}
