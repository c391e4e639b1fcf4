import Foundation
import Logging
import ResNetCore
import ResNetData
import ResNetDistributed

/// Data-parallel multi-level training of one experiment variant.
///
/// Every rank runs the same loop on its shard of each global batch; losses are normalised by the
/// global batch size and gradients summed across ranks, so any number of ranks follows the
/// trajectory of one process. Rank 0 decides level switches, prolongs the model and broadcasts it.
///
/// The pieces: the epoch loop (here), one step (`Trainer+Step`: forward, loss, `GradientSync`,
/// `Optimizer`), the levels (`LevelSchedule`: when to switch and the learning rate;
/// `Trainer+Levels`: the prolongation), evaluation (`Trainer+Evaluation`) and checkpoints
/// (`Trainer+Checkpoint`).
///
/// ```swift
/// let config = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
/// let summary = try Trainer(config: config, communicator: SingleProcessCommunicator()).run()
/// ```
public final class Trainer {
    public let config: ExperimentConfig
    let comm: Communicator
    let logger: Logger
    /// Rank 0 writes metrics, config and checkpoints here when set.
    let output: RunOutput?
    /// What the run reports to its caller and asks of it.
    let hooks: TrainerHooks

    public internal(set) var model: ResNetModel
    var optimizer: Optimizer
    let data: TrainingData
    /// The test pass, and writing checkpoints.
    let evaluator: Evaluator
    let checkpoints: CheckpointWriter
    var levels: LevelSchedule
    var switchRecords: [SwitchRecord] = []
    /// Where `run` starts: the beginning, or a checkpoint's place.
    var start = ResumePoint()
    /// The run directory of the checkpoint this run resumed, if any (for the stop message).
    let resumedFrom: String?
    /// Set by `trainStep` when some rank asked to stop (agreed on in that step's reduction).
    var stopSignal: Int32?

    /// Overlap the gradient allreduce with backward (in buckets as residual groups finish)
    /// instead of one allreduce after backward. Same sums either way; the benchmark compares
    /// the two. Off by default until the benchmark shows it pays on this transport.
    public var overlapAllreduce = false
    /// With `overlapAllreduce`: finished gradient ranges are gathered until a bucket holds at
    /// least this many floats.
    public var allreduceBucketElements = 16_384

    /// Builds the first-level model, or the checkpoint's model and state when `resume` is given
    /// (then `config` must be the checkpoint's). `data` defaults to `loadData(config, communicator)`;
    /// `resumedFrom` names the resumed run in a stop message.
    public init(config: ExperimentConfig, communicator: Communicator, data: TrainingData? = nil,
                resume: TrainingCheckpoint? = nil, output: RunOutput? = nil, resumedFrom: String? = nil,
                hooks: TrainerHooks = TrainerHooks(), logger: Logger = Logger(label: "resnet-dist")) throws {
        try config.validate()
        self.config = config
        self.comm = communicator
        self.levels = LevelSchedule(config: config)
        self.logger = logger
        self.output = output
        self.resumedFrom = resumedFrom
        self.hooks = hooks
        self.data = try data ?? Self.loadData(config, communicator)
        self.evaluator = Evaluator(comm: communicator, data: self.data, localBN: config.localBN)
        self.checkpoints = CheckpointWriter(comm: communicator, output: output, keep: config.keepCheckpoints)
        // Machines may differ in memory (and in ranks per machine): every rank reports its own verdict.
        let loaded = self.data
        try collectively(communicator, "check the memory the run needs") {
            try Self.checkSizes(config, data: loaded, ranks: communicator.size)
        }
        try Self.checkPreciseBN(config, data: self.data)
        model = Self.makeModel(try Self.spec(config, level: 0, data: self.data), config)
        optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        if let resume { try restore(resume) }
        try verifyRanksAgree()
        try attachReducer()
        // Every rank starts from rank 0's weights (they are built from the same seed, but a
        // broadcast makes that a guarantee rather than an assumption).
        try broadcastModel()
        if let resume {
            try broadcastOptimizer()
            restoreRankStates(resume)
        }
    }

    /// The run's data, loaded on every rank (after checking that every rank gets samples).
    public static func loadData(_ config: ExperimentConfig, _ comm: Communicator) throws -> TrainingData {
        if config.batchSize < comm.size {
            throw TrainingError.idleRanks(batchSize: config.batchSize, ranks: comm.size)
        }
        return try collectively(comm, "load the data") { try TrainingData.load(config) }
    }

    /// `--precise-bn K` averages the statistics of the epoch's first K batches; past one epoch's
    /// batches it would only repeat them (and an unbounded K makes a stop wait for the pass).
    static func checkPreciseBN(_ config: ExperimentConfig, data: TrainingData) throws {
        let steps = GlobalBatchSharder(config, data).stepsPerEpoch
        guard config.preciseBN <= steps else {
            throw ConfigError.invalid(key: "precise-bn", problem: "\(config.preciseBN) batches is more than the \(steps) batches of an epoch (which it would repeat); use at most \(steps)")
        }
    }

    /// A model of this run: the config's seed and execution options.
    static func makeModel(_ spec: ModelSpec, _ config: ExperimentConfig) -> ResNetModel {
        let model = ResNetModel(spec: spec, seed: UInt64(config.seed))
        model.execution.savedActivations = config.savedActivations
        return model
    }

    /// The model spec of `level`.
    package static func spec(_ c: ExperimentConfig, level: Int, data: TrainingData) throws -> ModelSpec {
        let integrator = c.integrator(atLevel: level), activation = c.activation
        let blocks = c.blocks(atLevel: level)
        let h = c.h(atLevel: level)
        if c.model == .mlp {
            return ModelSpec.mlp(inputs: 1, outputs: 1, width: c.width, blocks: blocks[0], h: h,
                                 integrator: integrator, activation: activation, initialization: c.initialization)
        }
        return ModelSpec(kind: .cnn, inputShape: data.sampleShape, outputs: 10, widths: c.channels,
                         blocks: blocks, h: h, integrator: integrator, activation: activation,
                         inputLayer: c.inputLayer, head: c.head, initialization: c.initialization)
    }

    // MARK: - Agreement and broadcast

    func verifyRanksAgree() throws {
        try comm.verifyConfigAgreement(config)
        try comm.verifyAgreement([
            ("the parameter count of the model", Int64(model.parameterCount)),
            ("the number of training samples", Int64(data.trainCount)),
            ("the number of test samples", Int64(data.testCount)),
            ("a fingerprint of the training and test data (--data-dir, the files on each host)", data.fingerprint()),
        ])
    }

    func attachReducer() throws {
        model.batchNormReducer = config.localBN || comm.size == 1 ? nil : try CommunicatorReducer(comm, model: model)
    }

    func broadcastModel() throws {
        try comm.broadcast(&model.parameters, root: 0)
        try comm.broadcast(&model.state, root: 0)
    }

    // MARK: - The loop

    public func run() throws -> RunSummary {
        let sharder = GlobalBatchSharder(config, data)
        var history = start.history
        var levelSeconds = start.levelSeconds
        var globalStep = start.globalStep
        let started = ProcessStats.now() - levelSeconds.reduce(0, +)
        try stopIfRequestedBeforeStart()
        try collectively(comm, "write the run directory") {
            try output?.begin(config: config, history: history)
        }

        for epoch in start.epoch..<config.epochs {
            let epochStart = ProcessStats.now()
            let resumingMidEpoch = epoch == start.epoch && start.stepInEpoch > 0
            var lossSum = resumingMidEpoch ? start.epochLossSum : 0.0
            var allreduceSeconds = 0.0
            // (The last step's rate: an epoch resumed after all its steps runs none.)
            var lr = levels.learningRate(epoch: epoch, step: sharder.stepsPerEpoch - 1, stepsPerEpoch: sharder.stepsPerEpoch)
            let plan = sharder.epoch(epoch)
            for step in (resumingMidEpoch ? start.stepInEpoch : 0)..<sharder.stepsPerEpoch {
                lr = levels.learningRate(epoch: epoch, step: step, stepsPerEpoch: sharder.stepsPerEpoch)
                let shard = plan.shard(step: step, rank: comm.rank, worldSize: comm.size)
                var (loss, reduceTime) = try trainStep(indices: shard.indices, globalBatch: shard.globalBatchSize,
                                                       epoch: epoch, learningRate: lr)
                if hooks.injectNaNAtEpoch == epoch + 1 && step == 0 { loss = .nan }
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, level: levels.level, loss: loss)
                }
                lossSum += loss * Double(shard.globalBatchSize)
                allreduceSeconds += reduceTime
                hooks.step?(globalStep, loss)
                globalStep += 1
                if stopSignal != nil {
                    levelSeconds[levels.level] += ProcessStats.now() - epochStart
                    try stop(at: (epoch, step, sharder.stepsPerEpoch), globalStep: globalStep, history: history,
                             levelSeconds: levelSeconds, epochLossSum: lossSum)
                }
            }
            let seconds = ProcessStats.now() - epochStart
            guard try recalibrateBatchNorm(plan: plan) else {
                levelSeconds[levels.level] += seconds
                try stop(at: (epoch, sharder.stepsPerEpoch - 1, sharder.stepsPerEpoch), globalStep: globalStep,
                         history: history, levelSeconds: levelSeconds, epochLossSum: lossSum)
            }
            let evalStart = ProcessStats.now()
            let (metric, probe) = try evaluator.evaluate(model)
            let evalSeconds = ProcessStats.now() - evalStart
            levelSeconds[levels.level] += seconds
            let record = EpochRecord(
                epoch: epoch + 1, level: levels.level + 1, blocks: model.spec.blocks, h: model.spec.h,
                integrator: model.spec.integrator.rawValue, learningRate: lr,
                trainLoss: lossSum / Double(data.trainCount), testMetric: metric.value,
                testMetricName: metric.kind, epochSeconds: seconds,
                samplesPerSecond: Double(data.trainCount) / seconds,
                allreduceShare: seconds > 0 ? allreduceSeconds / seconds : 0,
                peakRSSBytes: ProcessStats.peakResidentBytes(), evalSeconds: evalSeconds)
            history.append(record)
            try collectively(comm, "append to metrics.jsonl") {
                if comm.isRoot { try output?.append(record) }
            }
            if comm.isRoot { hooks.epoch?(record) }
            let switched = try levels.shouldSwitch(after: epoch, trainLosses: history.map(\.trainLoss), comm: comm)
            if switched {
                try switchLevel(epoch: epoch + 1, probe: probe)
                levelSeconds.append(0)
            }
            let periodic = config.checkpointEvery > 0 && (epoch + 1) % config.checkpointEvery == 0
            if switched || periodic || epoch + 1 == config.epochs {
                try writeCheckpoint(epoch: epoch + 1, globalStep: globalStep, history: history, levelSeconds: levelSeconds)
            }
        }
        guard let last = history.last else {
            throw TrainingError.output("the checkpoint has already completed all \(config.epochs) epochs; nothing to resume")
        }
        let peak = try maxOverRanks(ProcessStats.peakResidentBytes())
        let summary = RunSummary(
            experiment: config.experiment, variant: config.variant, ranks: comm.size, epochs: config.epochs,
            finalTrainLoss: last.trainLoss, testMetric: last.testMetric, testMetricName: last.testMetricName,
            trainSeconds: ProcessStats.now() - started, levelSeconds: levelSeconds, switchEpochs: levels.switchEpochs,
            finalBlocks: model.spec.blocks, parameterCount: model.parameterCount, peakRSSBytes: peak,
            runDirectory: output?.directory, history: history, switches: switchRecords,
            trivialMetric: data.trivialMetric, scale: config.scale, seed: config.seed)
        try collectively(comm, "write summary.json") {
            if comm.isRoot { try output?.finish(summary) }
        }
        return summary
    }

    /// Rank 0 checkpoints the place after `step` (0-based) of `epoch` and every rank throws
    /// `TrainingError.stopped` (after `stopSignal` was agreed on).
    func stop(at place: (epoch: Int, step: Int, stepsPerEpoch: Int), globalStep: Int, history: [EpochRecord],
              levelSeconds: [Double], epochLossSum: Double) throws -> Never {
        // Name the signal even on a rank that did not receive it (0 there).
        let signal = Int32(try maxOverRanks(Int(stopSignal ?? 0)))
        let path = try writeCheckpoint(epoch: place.epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                                       stepInEpoch: place.step + 1, epochLossSum: epochLossSum, rankStates: try gatherRankStates())
        throw TrainingError.stopped(signal: signal, epoch: place.epoch, step: place.step, stepsPerEpoch: place.stepsPerEpoch,
                                    checkpoint: path, runDirectory: output?.directory)
    }

    /// A stop requested while the job was starting up (loading data, starting MPI, reading the
    /// checkpoint) ends it before the first step, on every rank: there is nothing new to save.
    func stopIfRequestedBeforeStart() throws {
        let local = hooks.stopRequest?() ?? nil
        guard try maxOverRanks(local == nil ? 0 : 1) != 0 else { return }
        let signal = Int32(try maxOverRanks(Int(local ?? 0)))
        throw TrainingError.stoppedBeforeStart(signal: local ?? signal, resumedFrom: resumedFrom)
    }

    func maxOverRanks(_ value: Int) throws -> Int {
        var v = [Int64(value)]
        try v.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
        return Int(v[0])
    }
}

/// What a run reports to its caller and asks of it, given when the trainer is built.
public struct TrainerHooks {
    /// Called on every rank after each step with the global training loss of that step.
    public var step: ((_ globalStep: Int, _ loss: Double) -> Void)?
    /// Called on rank 0 after each epoch.
    public var epoch: ((EpochRecord) -> Void)?
    /// Read on every rank after each step: the signal number of a stop request, or nil. When any
    /// rank has one, all of them stop after that step and rank 0 writes a checkpoint
    /// (`TrainingError.stopped`).
    public var stopRequest: (() -> Int32?)?
    /// Fault injection for tests: the loss of the first step of this epoch (1-based) becomes NaN.
    public var injectNaNAtEpoch: Int?

    public init(step: ((_ globalStep: Int, _ loss: Double) -> Void)? = nil, epoch: ((EpochRecord) -> Void)? = nil,
                stopRequest: (() -> Int32?)? = nil, injectNaNAtEpoch: Int? = nil) {
        self.step = step
        self.epoch = epoch
        self.stopRequest = stopRequest
        self.injectNaNAtEpoch = injectNaNAtEpoch
    }
}
