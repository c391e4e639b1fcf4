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
}

extension Trainer {
    /// Takes over a checkpoint's model, optimizer state, levels and progress.
    func restore(_ c: TrainingCheckpoint) throws {
        guard c.config == config else {
            throw TrainingError.output("the checkpoint was written by a run with another config; resume it with its own")
        }
        model = Self.makeModel(c.spec, config)
        model.parameters = c.parameters
        model.state = c.state
        optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        optimizer.adopt(moments: c.moments, parameterCount: model.parameterCount)
        optimizer.stepCount = c.optimizerStep
        levels = LevelSchedule(config: config, level: c.level, levelStartEpoch: c.levelStartEpoch, switchEpochs: c.switchEpochs)
        switchRecords = c.switches
        start = ResumePoint(epoch: c.epoch, globalStep: c.globalStep, stepInEpoch: c.stepInEpoch,
                            epochLossSum: c.epochLossSum, history: c.history, levelSeconds: c.levelSeconds)
        guard c.stepInEpoch <= stepsPerEpoch else {
            throw TrainingError.output("the checkpoint was written after step \(c.stepInEpoch) of an epoch, but this run has \(stepsPerEpoch) steps per epoch; resume it with its own data")
        }
    }

    /// Every rank takes rank 0's optimizer state.
    func broadcastOptimizer() throws {
        var moments = optimizer.moments
        for i in moments.indices { try comm.broadcast(&moments[i], root: 0) }
        optimizer.adopt(moments: moments, parameterCount: model.parameterCount)
    }

    /// The checkpoint of the current state after `epoch` epochs and `globalStep` steps.
    func checkpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                    stepInEpoch: Int = 0, epochLossSum: Double = 0) -> TrainingCheckpoint {
        TrainingCheckpoint(
            config: config, spec: model.spec, epoch: epoch, globalStep: globalStep, level: levels.level,
            levelStartEpoch: levels.levelStartEpoch, switchEpochs: levels.switchEpochs, parameters: model.parameters,
            state: model.state, moments: optimizer.moments, optimizerStep: optimizer.stepCount,
            history: history, levelSeconds: levelSeconds, switches: switchRecords,
            stepInEpoch: stepInEpoch, epochLossSum: epochLossSum)
    }

    /// Rank 0 writes the checkpoint atomically and prunes old ones; a failure is reported on
    /// every rank. Returns the path on rank 0.
    @discardableResult
    func writeCheckpoint(epoch: Int, globalStep: Int, history: [EpochRecord], levelSeconds: [Double],
                         stepInEpoch: Int = 0, epochLossSum: Double = 0) throws -> String? {
        try collectively(comm, "write the checkpoint") { () -> String? in
            guard comm.isRoot, let output else { return nil }
            let c = checkpoint(epoch: epoch, globalStep: globalStep, history: history, levelSeconds: levelSeconds,
                               stepInEpoch: stepInEpoch, epochLossSum: epochLossSum)
            let path = output.path(TrainingCheckpoint.fileName(epoch: epoch, step: stepInEpoch))
            do {
                try c.write(to: path, slots: model.slots, stateSlots: model.stateSlots)
            } catch {
                throw TrainingError.output("cannot write the checkpoint \(path): \(error); the previous checkpoint is intact")
            }
            output.pruneCheckpoints(keep: config.checkpointsToKeep, protecting: Set(levels.switchEpochs))
            return path
        }
    }
}
