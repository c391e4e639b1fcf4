import Foundation
import ResNetTraining
import ResNetCore
import ResNetData
import ResNetDistributed

/// Throughput of full training steps — forward, loss, backward, allreduce, optimizer — measured
/// through the trainer's own `TrainingStep`, so the benchmark times exactly what training runs.
///
/// ```swift
/// let config = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
/// let m = try TrainingBenchmark.measure(config: config, communicator: comm, window: 3)
/// print(m.samplesPerSecond)
/// ```
public enum TrainingBenchmark {
    /// One measured configuration.
    public struct Measurement: Codable, Equatable, Sendable {
        public var experiment: String
        public var level: Int
        public var blocks: [Int]
        public var h: Double
        public var integrator: String
        public var batch: Int
        public var ranks: Int
        public var threads: Int
        public var overlapAllreduce: Bool
        public var steps: Int
        /// The fastest measured step; `meanStepSeconds` is the mean over the window.
        public var stepSeconds: Double
        public var meanStepSeconds: Double
        public var samplesPerSecond: Double
        /// Share of step time spent waiting in the gradient allreduce (max over ranks).
        public var allreduceShare: Double
        public var flopsPerSample: Double
        public var gflops: Double
        /// Peak resident set size of this process (max over ranks) at the end of the measurement.
        public var peakRSSBytes: Int
        /// Training samples of the experiment's full data set (for epoch-time extrapolation).
        public var trainCount: Int
    }

    /// The config of `experiment`'s level `level` as a single-level run (same blocks, h and
    /// integrator as the multi-level schedule uses at that level).
    public static func levelConfig(_ base: ExperimentConfig, level: Int) -> ExperimentConfig {
        var c = base
        c.blocks = base.blocks(atLevel: level)
        c.h = base.h(atLevel: level)
        c.integrators = [base.integrator(atLevel: level)]
        c.levels = []
        c.switchEpochs = []
        c.switchMode = .schedule
        return c
    }

    /// Data for the benchmark: the real files when present, else (CIFAR-10 only) random images
    /// of the right shape, enough for a few batches — throughput does not depend on pixel values.
    static func data(for config: ExperimentConfig) throws -> (TrainingData, fullTrainCount: Int) {
        do {
            let d = try TrainingData.load(config)
            return (d, d.trainCount)
        } catch where config.dataset == .cifar10 {
            let count = max(config.batchSize, 2048)
            var rng = SplitMix64(seed: 7)
            let pixels: [UInt8] = (0..<(count * 3 * 32 * 32)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
            let labels: [UInt8] = (0..<count).map { i in UInt8(i % 10) }
            let set = ImageDataset(images: pixels, labels: labels, channels: 3, height: 32, width: 32)
            return (TrainingData(source: .images(train: set, test: set.subset(first: 256), augment: true),
                                 seed: UInt64(config.seed)), 50_000)
        }
    }

    /// Warm-up steps, then steps until `window` seconds (at least `minSteps`) have passed.
    /// Every rank runs the same number of steps (rank 0 decides when to stop). The allreduce
    /// runs once after backward, as in training, unless `overlapAllreduce` asks for the
    /// overlapped mode.
    public static func measure(config: ExperimentConfig, communicator comm: Communicator, level: Int = 0,
                               overlapAllreduce: Bool = false, warmup: Int = 1, minSteps: Int = 2,
                               window: Double = 2, data preloaded: (TrainingData, Int)? = nil) throws -> Measurement {
        try measureAlternating(config: config, communicator: comm, level: level, overlapModes: [overlapAllreduce],
                               warmup: warmup, minSteps: minSteps, window: window, data: preloaded)[0]
    }

    /// Measures several allreduce modes in one trainer, interleaved step by step (A, B, A, B, …)
    /// after `warmup` steps of each, so that the modes see the same warm caches and allocator
    /// and the same background load; one measurement per mode, in the order given.
    public static func measureAlternating(config: ExperimentConfig, communicator comm: Communicator, level: Int = 0,
                                          overlapModes: [Bool], warmup: Int = 1, minSteps: Int = 2,
                                          window: Double = 2,
                                          data preloaded: (TrainingData, Int)? = nil) throws -> [Measurement] {
        let c = levelConfig(config, level: level)
        let (data, fullCount) = try preloaded ?? Self.data(for: config)
        let trainer = try Trainer(config: c, communicator: comm, data: data)
        let plan = GlobalBatchSharder(c, data)
        let epochPlan = plan.epoch(0)
        var step = 0
        func run(_ overlap: Bool) throws -> Double {
            trainer.step.gradientSync = GradientSync(comm: comm, overlap: overlap)
            let shard = epochPlan.shard(step: step % plan.stepsPerEpoch, rank: comm.rank, worldSize: comm.size)
            step += 1
            return try trainer.step.run(trainer.model, indices: shard.indices, globalBatch: shard.globalBatchSize,
                                        epoch: 0, learningRate: c.lr).waitSeconds
        }
        for mode in overlapModes { for _ in 0..<warmup { _ = try run(mode) } }
        try comm.barrier()
        let start = ProcessStats.now()
        // The cores are shared with other jobs: the fastest step (every rank waits for the
        // slowest inside the allreduce, so rank 0's step time is the job's) is the figure least
        // disturbed by them; the mean is kept beside it.
        var best = [(step: Double, reduce: Double)](repeating: (.infinity, 0), count: overlapModes.count)
        var total = [Double](repeating: 0, count: overlapModes.count)
        var steps = 0
        while true {
            for (i, mode) in overlapModes.enumerated() {
                let t0 = ProcessStats.now()
                let reduce = try run(mode)
                let t = ProcessStats.now() - t0
                total[i] += t
                if t < best[i].step { best[i] = (t, reduce) }
            }
            steps += 1
            var done = [steps >= minSteps && ProcessStats.now() - start >= window ? 1.0 : 0.0]
            try comm.broadcast(&done, root: 0)
            if done[0] != 0 { break }
        }
        let rss = Int(try maxOverRanks(Double(ProcessStats.peakResidentBytes()), comm))
        let flops = trainer.model.flopsPerSample()
        var out: [Measurement] = []
        for (i, mode) in overlapModes.enumerated() {
            var timing = [best[i].step, total[i] / Double(steps)]
            try comm.broadcast(&timing, root: 0)
            let share = try maxOverRanks(best[i].reduce / timing[0], comm)
            let rate = Double(c.batchSize) / timing[0]
            out.append(Measurement(
                experiment: config.experiment, level: level, blocks: c.blocks, h: c.h, integrator: c.integrators[0].rawValue,
                batch: c.batchSize, ranks: comm.size, threads: Kernels.threadCount, overlapAllreduce: mode,
                steps: steps, stepSeconds: timing[0], meanStepSeconds: timing[1], samplesPerSecond: rate,
                allreduceShare: share, flopsPerSample: flops, gflops: flops * rate / 1e9,
                peakRSSBytes: rss, trainCount: fullCount))
        }
        return out
    }

    static func maxOverRanks(_ value: Double, _ comm: Communicator) throws -> Double {
        if comm.size == 1 { return value }
        var v: [Int64] = [Int64(value * 1e6)]
        try v.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
        return Double(v[0]) / 1e6
    }
}

