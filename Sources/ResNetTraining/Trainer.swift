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
/// The trainer is the epoch loop (`run`, here) over parts with one job each, given what they
/// work on: `TrainingStep` (one optimizer step: forward, loss, `GradientSync`, `Optimizer`),
/// `LevelControl` (each level's model, `LevelSchedule`, the switch), `Evaluator` (the test pass)
/// and `CheckpointWriter` (`Trainer+Checkpoint`: what a checkpoint holds and resuming from one).
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
    let data: TrainingData

    public internal(set) var model: ResNetModel
    /// The parts: one step (holding the optimizer), the levels, the test pass, checkpoints.
    package var step: TrainingStep
    var levels: LevelControl
    let evaluator: Evaluator
    let checkpoints: CheckpointWriter
    /// Where `run` starts: the beginning, or a checkpoint's place.
    var start = ResumePoint()

    /// Builds the first-level model, or the checkpoint's model and state when `resume` is given
    /// (then `config` must be the checkpoint's). `data` defaults to `loadData(config, communicator)`;
    /// `resumedFrom` names the resumed run in a stop message.
    public init(config: ExperimentConfig, communicator: Communicator, data: TrainingData? = nil,
                resume: TrainingCheckpoint? = nil, output: RunOutput? = nil, resumedFrom: String? = nil,
                hooks: TrainerHooks = TrainerHooks(), logger: Logger = Logger(label: "resnet-dist")) throws {
        try config.validate()
        self.config = config
        self.comm = communicator
        self.logger = logger
        self.output = output
        self.hooks = hooks
        let loaded = try data ?? Self.loadData(config, communicator)
        self.data = loaded
        let evaluator = Evaluator(comm: communicator, data: loaded, localBN: config.localBN)
        self.evaluator = evaluator
        self.checkpoints = CheckpointWriter(comm: communicator, output: output, keep: config.keepCheckpoints)
        // Machines may differ in memory (and in ranks per machine): every rank reports its own verdict.
        try collectively(communicator, "check the memory the run needs") {
            try Self.checkSizes(config, data: loaded, ranks: communicator.size)
        }
        try Self.checkPreciseBN(config, data: loaded)
        levels = LevelControl(config: config, comm: communicator, data: loaded, evaluator: evaluator, logger: logger)
        model = levels.makeModel(try LevelControl.spec(config, level: 0, data: loaded))
        step = TrainingStep(data: loaded, optimizer: Optimizer.make(config, parameterCount: model.parameterCount),
                            gradientSync: GradientSync(comm: communicator), stopRequest: hooks.stopRequest)
        if let resume { try restore(resume) }
        start.resumedFrom = resumedFrom
        try verifyRanksAgree()
        try levels.share(model)
        if let resume {
            let state = OptimizerState(moments: resume.moments, stepCount: resume.optimizerStep)
            step.optimizer = try Optimizer.shared(config, parameterCount: model.parameterCount, state: state, comm)
            restoreRankStates(resume)
        }
        // The data, the model and a checkpoint are in place: what loading them freed is given
        // back before the first step (see releaseFreePages).
        ProcessStats.releaseFreePages()
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

    // MARK: - Agreement

    func verifyRanksAgree() throws {
        try comm.verifyConfigAgreement(config)
        try comm.verifyAgreement([
            ("the parameter count of the model", Int64(model.parameterCount)),
            ("the number of training samples", Int64(data.trainCount)),
            ("the number of test samples", Int64(data.testCount)),
            ("a fingerprint of the training and test data (--data-dir, the files on each host)", data.fingerprint()),
        ])
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
            var lr = levels.schedule.learningRate(epoch: epoch, step: sharder.stepsPerEpoch - 1, stepsPerEpoch: sharder.stepsPerEpoch)
            let plan = sharder.epoch(epoch)
            for stepInEpoch in (resumingMidEpoch ? start.stepInEpoch : 0)..<sharder.stepsPerEpoch {
                lr = levels.schedule.learningRate(epoch: epoch, step: stepInEpoch, stepsPerEpoch: sharder.stepsPerEpoch)
                let shard = plan.shard(step: stepInEpoch, rank: comm.rank, worldSize: comm.size)
                let outcome = try step.run(model, indices: shard.indices, globalBatch: shard.globalBatchSize,
                                           epoch: epoch, learningRate: lr)
                var loss = outcome.loss
                if hooks.injectNaNAtEpoch == epoch + 1 && stepInEpoch == 0 { loss = .nan }
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: stepInEpoch, level: levels.schedule.level, loss: loss)
                }
                lossSum += loss * Double(shard.globalBatchSize)
                allreduceSeconds += outcome.waitSeconds
                hooks.step?(globalStep, loss)
                globalStep += 1
                if let signal = outcome.stopSignal {
                    levelSeconds[levels.schedule.level] += ProcessStats.now() - epochStart
                    try stop(signal, at: (epoch, stepInEpoch, sharder.stepsPerEpoch), globalStep: globalStep,
                             history: history, levelSeconds: levelSeconds, epochLossSum: lossSum)
                }
            }
            let seconds = ProcessStats.now() - epochStart
            if let signal = try recalibrateBatchNorm(plan: plan) {
                levelSeconds[levels.schedule.level] += seconds
                try stop(signal, at: (epoch, sharder.stepsPerEpoch - 1, sharder.stepsPerEpoch), globalStep: globalStep,
                         history: history, levelSeconds: levelSeconds, epochLossSum: lossSum)
            }
            let evalStart = ProcessStats.now()
            let (metric, probe) = try evaluator.evaluate(model)
            let evalSeconds = ProcessStats.now() - evalStart
            levelSeconds[levels.schedule.level] += seconds
            let record = EpochRecord(
                epoch: epoch + 1, level: levels.schedule.level + 1, blocks: model.spec.blocks, h: model.spec.h,
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
            // The test pass's outputs on the first test samples go to the switch, which compares
            // the prolonged model with them.
            let switched = try levels.schedule.shouldSwitch(after: epoch, trainLosses: history.map(\.trainLoss), comm: comm)
            if switched {
                (model, step.optimizer) = try levels.switchLevel(model, optimizer: step.optimizer, startingAt: epoch + 1, probe: probe)
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
            trainSeconds: ProcessStats.now() - started, levelSeconds: levelSeconds, switchEpochs: levels.schedule.switchEpochs,
            finalBlocks: model.spec.blocks, parameterCount: model.parameterCount, peakRSSBytes: peak,
            runDirectory: output?.directory, history: history, switches: levels.records,
            trivialMetric: data.trivialMetric, scale: config.scale, seed: config.seed, machine: ProcessStats.machine())
        try collectively(comm, "write summary.json") {
            if comm.isRoot { try output?.finish(summary) }
        }
        return summary
    }

    /// Rank 0 checkpoints the place after `step` (0-based) of `epoch` and every rank throws
    /// `TrainingError.stopped`, once the ranks agreed to stop; `signal` is this rank's (0 when
    /// only another rank received one).
    func stop(_ signal: Int32, at place: (epoch: Int, step: Int, stepsPerEpoch: Int), globalStep: Int,
              history: [EpochRecord], levelSeconds: [Double], epochLossSum: Double) throws -> Never {
        // Name the signal even on a rank that did not receive it.
        let signal = Int32(try maxOverRanks(Int(signal)))
        let path = try writeCheckpoint(epoch: place.epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                                       stepInEpoch: place.step + 1, epochLossSum: epochLossSum, rankStates: try gatherRankStates())
        throw TrainingError.stopped(signal: signal, epoch: place.epoch, step: place.step, stepsPerEpoch: place.stepsPerEpoch,
                                    checkpoint: path, runDirectory: output?.directory)
    }

    /// A stop requested while the job was starting up (loading data, starting MPI, reading the
    /// checkpoint) ends it before the first step, on every rank: there is nothing new to save.
    func stopIfRequestedBeforeStart() throws {
        guard let local = try agreedStopRequest() else { return }
        let signal = Int32(try maxOverRanks(Int(local)))
        throw TrainingError.stoppedBeforeStart(signal: local != 0 ? local : signal, resumedFrom: start.resumedFrom)
    }

    /// When any rank has a stop request (a collective): this rank's signal, or 0 when only
    /// another rank has one; nil when none has.
    func agreedStopRequest() throws -> Int32? {
        let local = hooks.stopRequest?() ?? nil
        guard try maxOverRanks(local == nil ? 0 : 1) != 0 else { return nil }
        return local ?? 0
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
