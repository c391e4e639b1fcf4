import ResNetCore
import ResNetDistributed

/// Where a run starts: at the beginning, or where a checkpoint left off (possibly mid-epoch).
struct ResumePoint {
    /// Epochs and optimizer steps done.
    var epoch = 0
    var globalStep = 0
    /// Steps done of epoch `epoch`, and the sum of their losses (times the global batch).
    var stepInEpoch = 0
    var epochLossSum = 0.0
    /// The epoch records so far and the seconds spent at each level.
    var history: [EpochRecord] = []
    var levelSeconds: [Double] = [0]
    /// The run directory of the resumed checkpoint, if any (for the stop message).
    var resumedFrom: String?
}

extension Trainer {
    /// Takes over a checkpoint's model, levels and progress (its optimizer state is taken once
    /// every rank has rank 0's model, in `init`).
    func restore(_ c: TrainingCheckpoint) throws {
        guard c.config == config else {
            throw TrainingError.output("the checkpoint was written by a run with another config; resume it with its own")
        }
        model = levels.makeModel(c.spec)
        model.parameters = c.parameters
        model.state = c.state
        levels.restore(c)
        start = ResumePoint(epoch: c.epoch, globalStep: c.globalStep, stepInEpoch: c.stepInEpoch,
                            epochLossSum: c.epochLossSum, history: c.history, levelSeconds: c.levelSeconds)
        guard c.stepInEpoch <= stepsPerEpoch else {
            throw TrainingError.output("the checkpoint was written after step \(c.stepInEpoch) of an epoch, but this run has \(stepsPerEpoch) steps per epoch; resume it with its own data")
        }
    }

    /// The checkpoint of the current state after `epoch` epochs and `globalStep` steps.
    func checkpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                    stepInEpoch: Int = 0, epochLossSum: Double = 0, rankStates: [[Float]] = []) -> TrainingCheckpoint {
        let schedule = levels.schedule, optimizer = step.optimizer.state
        return TrainingCheckpoint(
            config: config, spec: model.spec, epoch: epoch, globalStep: globalStep, level: schedule.level,
            levelStartEpoch: schedule.levelStartEpoch, switchEpochs: schedule.switchEpochs, parameters: model.parameters,
            state: model.state, moments: optimizer.moments, optimizerStep: optimizer.stepCount,
            history: history, levelSeconds: levelSeconds, switches: levels.records,
            stepInEpoch: stepInEpoch, epochLossSum: epochLossSum, rankStates: rankStates)
    }

    /// With `--local-bn` on several ranks, every rank's running statistics, row r from rank r (a
    /// collective); empty otherwise. Written into a mid-epoch checkpoint, where they differ.
    func gatherRankStates() throws -> [[Float]] {
        guard comm.size > 1, config.localBN, !model.state.isEmpty else { return [] }
        let n = model.state.count
        var all = [Float](repeating: 0, count: n * comm.size)
        all.replaceSubrange((comm.rank * n)..<((comm.rank + 1) * n), with: model.state)
        try comm.allreduceSum(&all)
        return (0..<comm.size).map { Array(all[($0 * n)..<(($0 + 1) * n)]) }
    }

    /// After the broadcast of rank 0's model: a `--local-bn` checkpoint written mid-epoch gives
    /// each rank its own statistics back; resumed at another number of ranks, every rank starts
    /// from their average (the statistics then continue as a new set of ranks would keep them).
    func restoreRankStates(_ c: TrainingCheckpoint) {
        guard !c.rankStates.isEmpty else { return }
        if c.rankStates.count == comm.size {
            model.state = c.rankStates[comm.rank]
            return
        }
        var mean = [Float](repeating: 0, count: model.state.count)
        for row in c.rankStates { for i in mean.indices { mean[i] += row[i] } }
        for i in mean.indices { mean[i] /= Float(c.rankStates.count) }
        model.state = mean
        if comm.isRoot {
            logger.warning("the checkpoint holds the --local-bn statistics of \(c.rankStates.count) ranks; at \(comm.size) ranks each starts from their average, so the run continues close to, not exactly on, its \(c.rankStates.count)-rank course")
        }
    }

    /// Rank 0 writes the checkpoint of the current state (see `checkpoint`) through `checkpoints`;
    /// a failure is reported on every rank. Returns the path on rank 0.
    @discardableResult
    func writeCheckpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                         stepInEpoch: Int = 0, epochLossSum: Double = 0, rankStates: [[Float]] = []) throws -> String? {
        let c = comm.isRoot && output != nil
            ? checkpoint(epoch: epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                         stepInEpoch: stepInEpoch, epochLossSum: epochLossSum, rankStates: rankStates) : nil
        return try checkpoints.write(c, slots: model.slots, stateSlots: model.stateSlots, protecting: Set(levels.schedule.switchEpochs))
    }
}

/// Writing checkpoints into the run directory: one job, given the checkpoint.
struct CheckpointWriter {
    let comm: Communicator
    /// Rank 0's run directory (nil elsewhere, and for runs without one).
    let output: RunOutput?
    /// Checkpoints kept besides the protected ones (0: all).
    let keep: Int

    /// Rank 0 writes `checkpoint` atomically and prunes older ones, except the `protecting` epochs
    /// (the level switches); a failure is reported on every rank (a collective). Returns the path
    /// on rank 0.
    func write(_ checkpoint: TrainingCheckpoint?, slots: [ParameterSlot], stateSlots: [ParameterSlot],
               protecting: Set<Int>) throws -> String? {
        try collectively(comm, "write the checkpoint") { () -> String? in
            guard comm.isRoot, let output, let checkpoint else { return nil }
            let path = output.path(TrainingCheckpoint.fileName(epoch: checkpoint.epoch, step: checkpoint.stepInEpoch))
            do {
                try checkpoint.write(to: path, slots: slots, stateSlots: stateSlots)
            } catch {
                throw TrainingError.output("cannot write the checkpoint \(path): \(error); the previous checkpoint is intact")
            }
            output.pruneCheckpoints(keep: keep, protecting: protecting)
            return path
        }
    }
}
