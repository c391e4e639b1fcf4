import Foundation
import ResNetDistributed

/// The levels of a multi-level run: which level training is at, when the next one starts, and
/// the learning rate within a level. Rank 0 decides every switch and the others receive its
/// decision, so all ranks switch at the same epoch whatever the rule.
struct LevelSchedule {
    let config: ExperimentConfig
    /// The current level (0-based).
    private(set) var level = 0
    /// The first epoch (0-based) of the current level.
    private(set) var levelStartEpoch = 0
    /// The epochs at which the levels after the first started, so far.
    private(set) var switchEpochs: [Int] = []

    init(config: ExperimentConfig) { self.config = config }

    /// The schedule of a resumed run.
    init(config: ExperimentConfig, level: Int, levelStartEpoch: Int, switchEpochs: [Int]) {
        self.config = config
        self.level = level
        self.levelStartEpoch = levelStartEpoch
        self.switchEpochs = switchEpochs
    }

    /// Whether a level remains after the current one.
    var hasNextLevel: Bool { level + 1 < config.levelCount }

    /// Whether the next level starts after `epoch` (0-based), given the training losses of the
    /// epochs so far. Rank 0 decides and broadcasts; every rank returns the same answer.
    func shouldSwitch(after epoch: Int, trainLosses: [Double], comm: Communicator) throws -> Bool {
        guard hasNextLevel, epoch + 1 < config.epochs else { return false }
        var decision: [UInt8] = [0]
        if comm.isRoot { decision[0] = decide(after: epoch, trainLosses: trainLosses) ? 1 : 0 }
        try comm.broadcast(&decision, root: 0)
        return decision[0] == 1
    }

    private func decide(after epoch: Int, trainLosses: [Double]) -> Bool {
        switch config.switchMode {
        case .schedule:
            return config.switchEpochs[level] == epoch + 1
        case .plateau:
            return Self.plateaued(Array(trainLosses[levelStartEpoch...]), patience: config.patience,
                                  minImprovement: config.minImprovement)
        }
    }

    /// The next level starts with epoch `epoch` (0-based).
    mutating func advance(startingAt epoch: Int) {
        level += 1
        levelStartEpoch = epoch
        switchEpochs.append(epoch)
    }

    /// True when none of the last `patience` losses improved on the best before them by at least
    /// `minImprovement` (relative).
    static func plateaued(_ losses: [Double], patience: Int, minImprovement: Double) -> Bool {
        guard losses.count > patience else { return false }
        let best = losses[..<(losses.count - patience)].min()!
        let recent = losses.suffix(patience).min()!
        return recent > best * (1 - minImprovement)
    }

    /// The learning rate of `step` of `epoch`: the configured schedule over the current level
    /// (a level ends at its scheduled switch, or at the end of the run when none is scheduled).
    func learningRate(epoch: Int, step: Int, stepsPerEpoch: Int) -> Double {
        let levelEnd: Int
        if config.switchMode == .schedule, level < config.switchEpochs.count {
            levelEnd = config.switchEpochs[level]
        } else {
            levelEnd = config.epochs
        }
        let t = (epoch - levelStartEpoch) * stepsPerEpoch + step
        let total = (levelEnd - levelStartEpoch) * stepsPerEpoch
        return config.schedule.schedule.learningRate(base: config.lr(atLevel: level), stepInLevel: t, stepsInLevel: total)
    }
}
