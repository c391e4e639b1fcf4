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
/// ```swift
/// let config = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
/// let summary = try Trainer(config: config, communicator: SingleProcessCommunicator()).run()
/// ```
public final class Trainer {
    public let config: ExperimentConfig
    let comm: Communicator
    let logger: Logger
    /// Rank 0 writes metrics, config and checkpoints here when set.
    public var output: RunOutput?
    /// Called on every rank after each step with the global training loss of that step.
    public var stepObserver: ((_ globalStep: Int, _ loss: Double) -> Void)?
    /// Fault injection for tests: the loss of the first step of this epoch (1-based) becomes NaN.
    public var injectNaNAtEpoch: Int?
    /// Called on rank 0 after each epoch.
    public var epochObserver: ((EpochRecord) -> Void)?
    /// Read on every rank after each step: the signal number of a stop request, or nil. When any
    /// rank has one, all of them stop after that step and rank 0 writes a checkpoint
    /// (`TrainingError.stopped`).
    public var stopRequest: (() -> Int32?)?

    private(set) public var model: ResNetModel
    private var optimizer: Optimizer
    private let data: TrainingData
    private var level = 0
    private var levelStartEpoch = 0
    private var switchEpochs: [Int] = []
    private var switchRecords: [SwitchRecord] = []
    /// Where a resumed run continues from (epochs done, steps done, history so far).
    private var startEpoch = 0
    private var startStep = 0
    private var resumedHistory: [EpochRecord] = []
    private var resumedLevelSeconds: [Double] = [0]
    private var resumedStepInEpoch = 0
    private var resumedLossSum = 0.0
    /// Set by `trainStep` when some rank asked to stop (agreed through that step's allreduce).
    private var stopSignal: Int32?

    /// Builds the first-level model, or the checkpoint's model and state when `resume` is given
    /// (then `config` must be the checkpoint's).
    public init(config: ExperimentConfig, communicator: Communicator, data: TrainingData? = nil,
                resume: TrainingCheckpoint? = nil, logger: Logger = Logger(label: "resnet-dist")) throws {
        try config.validate()
        self.config = config
        self.comm = communicator
        NormActConv.savedStorage = config.savedActivationStorage
        self.logger = logger
        if config.batchSize < communicator.size {
            throw TrainingError.idleRanks(batchSize: config.batchSize, ranks: communicator.size)
        }
        self.data = try collectively(communicator, "load the data") { try data ?? TrainingData.load(config) }
        // Machines may differ in memory (and in ranks per machine): every rank reports its own verdict.
        let loaded = self.data
        try collectively(communicator, "check the memory the run needs") {
            try Self.checkSizes(config, data: loaded, ranks: communicator.size)
        }
        model = ResNetModel(spec: try Self.spec(config, level: 0, data: self.data), seed: UInt64(config.seed))
        optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        if let resume { try restore(resume) }
        try verifyRanksAgree()
        attachReducer()
        // Every rank starts from rank 0's weights (they are built from the same seed, but a
        // broadcast makes that a guarantee rather than an assumption).
        try broadcastModel()
        if resume != nil { try broadcastOptimizer() }
    }

    private func restore(_ c: TrainingCheckpoint) throws {
        guard c.config == config else {
            throw TrainingError.output("the checkpoint was written by a run with another config; resume it with its own")
        }
        model = ResNetModel(spec: c.spec, seed: UInt64(config.seed))
        model.parameters = c.parameters
        model.state = c.state
        optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        optimizer.adopt(moments: c.moments, parameterCount: model.parameterCount)
        optimizer.stepCount = c.optimizerStep
        level = c.level
        levelStartEpoch = c.levelStartEpoch
        switchEpochs = c.switchEpochs
        startEpoch = c.epoch
        startStep = c.globalStep
        resumedHistory = c.history
        resumedLevelSeconds = c.levelSeconds
        switchRecords = c.switches
        resumedStepInEpoch = c.stepInEpoch
        resumedLossSum = c.epochLossSum
        guard c.stepInEpoch <= stepsPerEpoch else {
            throw TrainingError.output("the checkpoint was written after step \(c.stepInEpoch) of an epoch, but this run has \(stepsPerEpoch) steps per epoch; resume it with its own data")
        }
    }

    private func broadcastOptimizer() throws {
        var moments = optimizer.moments
        for i in moments.indices { try comm.broadcast(&moments[i], root: 0) }
        optimizer.adopt(moments: moments, parameterCount: model.parameterCount)
    }

    /// The checkpoint of the current state after `epoch` epochs and `globalStep` steps.
    func checkpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                    stepInEpoch: Int = 0, epochLossSum: Double = 0) -> TrainingCheckpoint {
        TrainingCheckpoint(
            config: config, spec: model.spec, epoch: epoch, globalStep: globalStep, level: level,
            levelStartEpoch: levelStartEpoch, switchEpochs: switchEpochs, parameters: model.parameters,
            state: model.state, moments: optimizer.moments, optimizerStep: optimizer.stepCount,
            history: history, levelSeconds: levelSeconds, switches: switchRecords,
            stepInEpoch: stepInEpoch, epochLossSum: epochLossSum)
    }

    /// Rank 0 writes the checkpoint atomically; a failure is reported on every rank.
    @discardableResult
    private func writeCheckpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                                 stepInEpoch: Int = 0, epochLossSum: Double = 0) throws -> String? {
        try collectively(comm, "write the checkpoint") { () -> String? in
            guard comm.isRoot, let output else { return nil }
            let c = checkpoint(epoch: epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                               stepInEpoch: stepInEpoch, epochLossSum: epochLossSum)
            let path = output.path(TrainingCheckpoint.fileName(epoch: epoch, step: stepInEpoch))
            do {
                try c.file(slots: model.slots, stateSlots: model.stateSlots).write(atomicallyTo: path)
            } catch {
                throw TrainingError.output("cannot write the checkpoint \(path): \(error); the previous checkpoint is intact")
            }
            output.pruneCheckpoints(keep: config.checkpointsToKeep, protecting: Set(switchEpochs))
            return path
        }
    }

    /// The model spec of `level`.
    static func spec(_ c: ExperimentConfig, level: Int, data: TrainingData) throws -> ModelSpec {
        let integrator = c.integrator(atLevel: level), activation = c.activation
        let blocks = c.blocks(atLevel: level)
        let h = c.h(atLevel: level)
        if c.model == .mlp {
            return ModelSpec.mlp(inputs: 1, outputs: 1, width: c.width, blocks: blocks[0], h: h,
                                 integrator: integrator, activation: activation, initialization: c.initializationKind)
        }
        return ModelSpec(kind: .cnn, inputShape: data.sampleShape, outputs: 10, widths: c.channels,
                         blocks: blocks, h: h, integrator: integrator, activation: activation,
                         inputLayer: c.hasInputLayer, head: c.headKind, initialization: c.initializationKind)
    }

    // MARK: - Agreement and broadcast

    private func verifyRanksAgree() throws {
        try comm.verifyConfigAgreement(config)
        try comm.verifyAgreement([
            ("the parameter count of the model", Int64(model.parameterCount)),
            ("the number of training samples", Int64(data.trainCount)),
            ("the number of test samples", Int64(data.testCount)),
        ])
    }

    private func attachReducer() {
        model.batchNormReducer = config.localBN || comm.size == 1 ? nil : CommunicatorReducer(comm)
    }

    private func broadcastModel() throws {
        try comm.broadcast(&model.parameters, root: 0)
        try comm.broadcast(&model.state, root: 0)
    }

    // MARK: - The loop

    public func run() throws -> RunSummary {
        let sharder = GlobalBatchPlan(datasetSize: data.trainCount, batchSize: config.batchSize, seed: UInt64(config.seed))
        var history = resumedHistory
        var levelSeconds = resumedLevelSeconds
        var globalStep = startStep
        let start = ProcessStats.now() - levelSeconds.reduce(0, +)
        try collectively(comm, "write the run directory") {
            try output?.begin(config: config, history: history)
        }

        for epoch in startEpoch..<config.epochs {
            let epochStart = ProcessStats.now()
            let resumingMidEpoch = epoch == startEpoch && resumedStepInEpoch > 0
            var lossSum = resumingMidEpoch ? resumedLossSum : 0.0
            var allreduceSeconds = 0.0
            var lr = config.lr
            let plan = sharder.epoch(epoch)
            for step in (resumingMidEpoch ? resumedStepInEpoch : 0)..<sharder.stepsPerEpoch {
                lr = learningRate(epoch: epoch, step: step, stepsPerEpoch: sharder.stepsPerEpoch)
                let shard = plan.shard(step: step, rank: comm.rank, worldSize: comm.size)
                var (loss, reduceTime) = try trainStep(indices: shard.indices, globalBatch: shard.globalBatchSize,
                                                       epoch: epoch, learningRate: lr)
                if injectNaNAtEpoch == epoch + 1 && step == 0 { loss = .nan }
                guard loss.isFinite else {
                    throw TrainingError.nonFiniteLoss(epoch: epoch, step: step, level: level, loss: loss)
                }
                lossSum += loss * Double(shard.globalBatchSize)
                allreduceSeconds += reduceTime
                stepObserver?(globalStep, loss)
                globalStep += 1
                if let local = stopSignal {
                    // Name the signal even on a rank that did not receive it (0 there).
                    let signal = Int32(try maxOverRanks(Int(local)))
                    levelSeconds[level] += ProcessStats.now() - epochStart
                    let path = try writeCheckpoint(epoch: epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                                                   stepInEpoch: step + 1, epochLossSum: lossSum)
                    throw TrainingError.stopped(signal: signal, epoch: epoch, step: step, stepsPerEpoch: sharder.stepsPerEpoch,
                                                checkpoint: path, runDirectory: output?.directory)
                }
            }
            let seconds = ProcessStats.now() - epochStart
            try recalibrateBatchNorm(plan: plan)
            let metric = try evaluate()
            levelSeconds[level] += seconds
            let record = EpochRecord(
                epoch: epoch + 1, level: level + 1, blocks: model.spec.blocks, h: model.spec.h,
                integrator: model.spec.integrator.rawValue, learningRate: lr,
                trainLoss: lossSum / Double(data.trainCount), testMetric: metric.value,
                testMetricName: metric.kind, epochSeconds: seconds,
                samplesPerSecond: Double(data.trainCount) / seconds,
                allreduceShare: seconds > 0 ? allreduceSeconds / seconds : 0,
                peakRSSBytes: ProcessStats.peakResidentBytes())
            history.append(record)
            try collectively(comm, "append to metrics.jsonl") {
                if comm.isRoot { try output?.append(record) }
            }
            if comm.isRoot { epochObserver?(record) }
            var switched = false
            if epoch + 1 < config.epochs, try shouldSwitch(after: epoch, history: history) {
                try switchLevel(epoch: epoch + 1, metricBefore: metric.value)
                levelSeconds.append(0)
                switched = true
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
            trainSeconds: ProcessStats.now() - start, levelSeconds: levelSeconds, switchEpochs: switchEpochs,
            finalBlocks: model.spec.blocks, parameterCount: model.parameterCount, peakRSSBytes: peak,
            runDirectory: output?.directory, history: history, switches: switchRecords,
            trivialMetric: data.trivialMetric, scale: config.scale)
        try collectively(comm, "write summary.json") {
            if comm.isRoot { try output?.finish(summary) }
        }
        return summary
    }

    /// Overlap the gradient allreduce with backward (non-blocking, in buckets as residual groups
    /// finish) instead of one allreduce after backward. Same sums either way; the benchmark
    /// compares the two. Off by default until the benchmark shows it pays on this transport.
    public var overlapAllreduce = false
    /// Finished gradient ranges are gathered until a bucket holds at least this many floats.
    public var allreduceBucketElements = 16_384

    /// Backward with the allreduce of each finished bucket started at once; waits for all of
    /// them before returning. Returns the global loss and the seconds spent waiting (the part
    /// of communication that backward did not hide).
    ///
    /// The model holds its gradient buffer for the whole backward and the waits (see
    /// `ResNetModel.backward(_:onGradientsReady:finish:)`), so no pointer outlives its access.
    private func backwardOverlappingAllreduce(_ gradient: Tensor, localLoss: Float, localStop: Int32?) throws -> (Double, Float, Double) {
        // The loss and the stop flag travel in their own two-float buffer, started first.
        let lossBuffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2)
        defer { lossBuffer.deallocate() }
        lossBuffer[0] = localLoss
        lossBuffer[1] = localStop == nil ? 0 : 1
        var pending: [PendingReduction] = [try comm.startAllreduceSum(lossBuffer)]
        var bucket: UnsafeMutableBufferPointer<Float>?
        var failure: Error?
        func flush() {
            guard let b = bucket, failure == nil else { return }
            bucket = nil
            do { pending.append(try comm.startAllreduceSum(b)) } catch { failure = error }
        }
        let waitSeconds = try model.backward(gradient, onGradientsReady: { ready in
            // Ranges arrive disjoint, adjacent and descending: extend the bucket downwards.
            if let b = bucket {
                bucket = UnsafeMutableBufferPointer(start: ready.baseAddress, count: ready.count + b.count)
            } else {
                bucket = ready
            }
            if bucket!.count >= self.allreduceBucketElements { flush() }
        }, finish: {
            let waitStart = ProcessStats.now()
            flush()
            var firstError = failure
            for p in pending {
                do { try p.wait() } catch { if firstError == nil { firstError = error } }
            }
            pending.removeAll()
            if let firstError { throw firstError }
            return ProcessStats.now() - waitStart
        })
        return (Double(lossBuffer[0]), lossBuffer[1], waitSeconds)
    }

    /// `ranksAsking` is the allreduced sum of the stop flags: any rank asking stops them all.
    private func agreeOnStop(_ ranksAsking: Float, local: Int32?) {
        if ranksAsking > 0 { stopSignal = local ?? 0 }  // 0: another rank's signal
    }

    /// One step: forward and backward on this rank's shard, one allreduce of the gradients,
    /// the optimizer. Returns the global loss and the seconds spent in the allreduce.
    func trainStep(indices: [Int], globalBatch: Int, epoch: Int, learningRate: Double) throws -> (Double, Double) {
        let batch = data.trainBatch(indices, epoch: epoch)
        model.zeroGradients()
        let prediction = try model.forward(batch.input, training: true)
        var localLoss: Float
        let gradient: Tensor
        switch batch.targets {
        case .values(let target):
            (localLoss, gradient) = try mseLoss(prediction: prediction, target: target, normalizer: globalBatch)
        case .classes(let labels):
            let r = try softmaxCrossEntropy(logits: prediction, labels: labels, normalizer: globalBatch)
            (localLoss, gradient) = (r.loss, r.gradient)
        }
        if indices.isEmpty { localLoss = 0 }
        let localStop = stopRequest?() ?? nil
        var loss = Double(localLoss)
        var reduceTime = 0.0
        if comm.size > 1 && overlapAllreduce {
            var stop: Float
            (loss, stop, reduceTime) = try backwardOverlappingAllreduce(gradient, localLoss: localLoss, localStop: localStop)
            agreeOnStop(stop, local: localStop)
        } else {
            try model.backward(gradient)
            let reduceStart = ProcessStats.now()
            if comm.size > 1 {
                // The loss and the stop flag ride along with the gradients: one collective per step.
                model.gradients.append(localLoss)
                model.gradients.append(localStop == nil ? 0 : 1)
                try model.gradients.withUnsafeMutableBufferPointer {
                    try comm.startAllreduceSum($0).wait()
                }
                agreeOnStop(model.gradients.removeLast(), local: localStop)
                loss = Double(model.gradients.removeLast())
            } else {
                stopSignal = localStop
            }
            reduceTime = ProcessStats.now() - reduceStart
        }
        optimizer.step(&model.parameters, model.gradients, learningRate: Float(learningRate))
        return (loss, reduceTime)
    }

    // MARK: - Evaluation

    /// Test accuracy (classification) or the L2 norm of prediction − truth (regression), over the
    /// whole test set split across ranks.
    public func evaluate() throws -> (kind: MetricKind, value: Double) {
        try synchroniseRunningStatistics()
        let mine = GlobalBatchPlan.evaluationRange(count: data.testCount, rank: comm.rank, ranks: comm.size)
        var totals = [0.0]
        let chunk = 1000
        var lower = mine.lowerBound
        while lower < mine.upperBound {
            let range = lower..<min(lower + chunk, mine.upperBound)
            let batch = data.testBatch(range)
            let out = try model.forward(batch.input, training: false)
            switch batch.targets {
            case .values(let target):
                for i in 0..<out.count {
                    let d = Double(out.data[i]) - Double(target.data[i])
                    totals[0] += d * d
                }
            case .classes(let labels):
                let classes = out.shape[1]
                for (i, label) in labels.enumerated() {
                    let row = out.data[(i * classes)..<((i + 1) * classes)]
                    let predicted = row.indices.max { row[$0] < row[$1] }! - i * classes
                    if predicted == label { totals[0] += 1 }
                }
            }
            lower = range.upperBound
        }
        try comm.allreduceSum(&totals)
        if data.isClassification { return (.accuracy, totals[0] / Double(data.testCount)) }
        return (.errorNorm, totals[0].squareRoot())
    }

    /// Optimizer steps in one epoch (the same on every rank).
    public var stepsPerEpoch: Int {
        GlobalBatchPlan(datasetSize: data.trainCount, batchSize: config.batchSize, seed: UInt64(config.seed)).stepsPerEpoch
    }

    /// Regression only: the model's function on `gridPoints` points over the data's interval
    /// [0, 2π], the true function there, and the test set — what `fit.svg` shows.
    public func regressionFit(gridPoints: Int = 400) throws -> (x: [Double], truth: [Double], prediction: [Double], testX: [Double], testY: [Double])? {
        guard let test = data.regressionTestSet, let f = data.regressionFunction else { return nil }
        let x = (0..<gridPoints).map { 2 * Double.pi * Double($0) / Double(gridPoints - 1) }
        let out = try model.forward(Tensor(shape: [gridPoints, 1], data: x.map { data.networkInput(Float($0)) }), training: false)
        return (x, x.map { f($0) }, out.data.map(Double.init), test.x.map(Double.init), test.y.map(Double.init))
    }

    /// Regression only: the test inputs, true values and the model's predictions (inference mode).
    public func regressionPredictions() throws -> (x: [Float], truth: [Float], prediction: [Float])? {
        guard let test = data.regressionTestSet else { return nil }
        let out = try model.forward(Tensor(shape: [test.count, 1], data: test.x.map(data.networkInput)), training: false)
        return (test.x, test.y, out.data)
    }

    /// `--precise-bn K`: the running statistics are reset and set to the plain average of the
    /// batch statistics of the epoch's first K global batches under the current weights, so they
    /// describe the final weights rather than a momentum average over the last steps' (which lags
    /// behind while weights move fast). Every rank takes part in each forward (the BatchNorm sums
    /// are reduced unless --local-bn), so all agree.
    func recalibrateBatchNorm(plan: EpochPlan) throws {
        guard config.preciseBN > 0 else { return }
        try model.reestimateBatchNormStatistics(batches: config.preciseBN) { k in
            let shard = plan.shard(step: k % plan.stepsPerEpoch, rank: comm.rank, worldSize: comm.size)
            _ = try model.forward(data.trainBatch(shard.indices, epoch: plan.epoch).input, training: true)
        }
    }

    /// With local BatchNorm each rank's running statistics differ; average them so every rank
    /// evaluates (and checkpoints) the same model. With synchronised BatchNorm they already agree.
    private func synchroniseRunningStatistics() throws {
        guard comm.size > 1, config.localBN, !model.state.isEmpty else { return }
        try comm.allreduceSum(&model.state)
        let scale = 1 / Float(comm.size)
        for i in model.state.indices { model.state[i] *= scale }
    }

    // MARK: - Levels

    private func shouldSwitch(after epoch: Int, history: [EpochRecord]) throws -> Bool {
        guard level + 1 < config.levelCount else { return false }
        if config.switchMode == .schedule { return config.switchEpochs[level] == epoch + 1 }
        // Plateau: rank 0 decides from the (already allreduced) loss and tells everyone.
        var decision: [UInt8] = [0]
        if comm.isRoot {
            let losses = history[levelStartEpoch...].map(\.trainLoss)
            decision[0] = Self.plateaued(losses, patience: config.patience, minImprovement: config.minImprovement) ? 1 : 0
        }
        try comm.broadcast(&decision, root: 0)
        return decision[0] == 1
    }

    /// True when none of the last `patience` losses improved on the best before them by at least
    /// `minImprovement` (relative).
    static func plateaued(_ losses: [Double], patience: Int, minImprovement: Double) -> Bool {
        guard losses.count > patience else { return false }
        let best = losses[..<(losses.count - patience)].min()!
        let recent = losses.suffix(patience).min()!
        return recent > best * (1 - minImprovement)
    }

    /// Rank 0 prolongs the model (and the optimizer state) and broadcasts it; every rank
    /// continues with the deeper model.
    private func switchLevel(epoch: Int, metricBefore: Double) throws {
        let newSpec = try Self.spec(config, level: level + 1, data: data)
        let keepMoments = config.optimizerStateOnSwitch == .prolong
        let oldBlocks = model.spec.blocks
        var next: ResNetModel
        var moments: [[Float]] = []
        var outputChange = 0.0
        if comm.isRoot {
            let rule = config.prolongation.rule
            let (prolonged, map) = try prolong(model, toBlocks: newSpec.blocks, rule: rule,
                                               integrator: newSpec.integrator, h: newSpec.h)
            let probe = data.testBatch(0..<min(256, data.testCount)).input
            let before = try model.forward(probe, training: false).data
            let after = try prolonged.forward(probe, training: false).data
            let num = zip(before, after).reduce(0.0) { $0 + Double(($1.1 - $1.0) * ($1.1 - $1.0)) }
            let den = before.reduce(0.0) { $0 + Double($1 * $1) }
            outputChange = den > 0 ? (num / den).squareRoot() : num.squareRoot()
            next = prolonged
            moments = keepMoments ? optimizer.moments.map { map.apply(to: $0) } : []
        } else {
            next = ResNetModel(spec: newSpec, seed: UInt64(config.seed))
        }
        level += 1
        levelStartEpoch = epoch
        switchEpochs.append(epoch)
        model = next
        attachReducer()
        try broadcastModel()
        if keepMoments {
            if !comm.isRoot {
                moments = optimizer.moments.map { _ in [Float](repeating: 0, count: model.parameterCount) }
            }
            for i in moments.indices { try comm.broadcast(&moments[i], root: 0) }
            optimizer.adopt(moments: moments, parameterCount: model.parameterCount)
        } else {
            optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        }
        let metricAfter = try evaluate().value
        var change = [outputChange]
        try comm.allreduceSum(&change)  // only rank 0 measured it; the sum shares it
        switchRecords.append(SwitchRecord(epoch: epoch, fromBlocks: oldBlocks, toBlocks: newSpec.blocks,
                                          metricBefore: metricBefore, metricAfter: metricAfter,
                                          relativeOutputChange: change[0]))
        if comm.isRoot {
            logger.info("level \(level + 1): \(newSpec.blocks) blocks per group, h \(newSpec.h), \(newSpec.integrator.rawValue); test metric \(String(format: "%.5g", metricBefore)) → \(String(format: "%.5g", metricAfter)), output change \(String(format: "%.3g", change[0]))",
                        metadata: ["epoch": "\(epoch + 1)"])
        }
    }

    private func learningRate(epoch: Int, step: Int, stepsPerEpoch: Int) -> Double {
        let levelEnd: Int
        if config.switchMode == .schedule, level < config.switchEpochs.count {
            levelEnd = config.switchEpochs[level]
        } else {
            levelEnd = config.epochs
        }
        let t = (epoch - levelStartEpoch) * stepsPerEpoch + step
        let total = (levelEnd - levelStartEpoch) * stepsPerEpoch
        return config.schedule.schedule.learningRate(base: config.lr, stepInLevel: t, stepsInLevel: total)
    }

    private func maxOverRanks(_ value: Int) throws -> Int {
        var v = [Int64(value)]
        try v.withUnsafeMutableBufferPointer { try comm.allreduceMax($0) }
        return Int(v[0])
    }
}

/// Sums BatchNorm statistics across ranks (synchronised BatchNorm).
public final class CommunicatorReducer: BatchNormReducer {
    let comm: Communicator
    public init(_ comm: Communicator) { self.comm = comm }
    public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws { try comm.allreduceSum(values) }
}
