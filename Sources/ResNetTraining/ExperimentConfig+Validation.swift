import ResNetCore

extension ExperimentConfig {
    /// More epochs than any run could finish; counts stay far from overflow in every product.
    public static let maxEpochs = 100_000_000

    /// Checks every value before anything runs; the error names the flag and the fix.
    public func validate() throws {
        func bad(_ key: String, _ problem: String) -> ConfigError { .invalid(key: key, problem: problem) }
        guard Experiment.named(experiment) != nil else {
            throw ConfigError.unknownExperiment(experiment, known: Experiment.all.map(\.name))
        }
        if dataset.model != model {
            throw bad("model", "dataset \(dataset.rawValue) needs model \(dataset.model.rawValue)")
        }
        if model == .mlp, width <= 0 { throw bad("width", "must be positive, got \(width)") }
        if model == .cnn {
            guard !channels.isEmpty, channels.allSatisfy({ $0 > 0 }) else {
                throw bad("channels", "needs one positive channel count per group, got \(channels)")
            }
            guard blocks.count == channels.count else {
                throw bad("blocks", "gives \(blocks.count) groups but the model has \(channels.count) (\(channels)); give one count per group, e.g. --blocks \(channels.map { _ in "2" }.joined(separator: ","))")
            }
        } else if blocks.count != 1 {
            throw bad("blocks", "the MLP has one group of blocks; give one number, got \(blocks)")
        }
        guard blocks.allSatisfy({ $0 >= 1 }) else { throw bad("blocks", "each group needs at least 1 block, got \(blocks)") }
        guard h > 0, h.isFinite else { throw bad("h", "the step size must be positive, got \(h)") }
        guard !integrators.isEmpty else { throw bad("integrator", "needs at least one of \(Integrator.spelledChoices)") }
        guard epochs >= 1 else { throw bad("epochs", "must be at least 1, got \(epochs)") }
        guard epochs <= Self.maxEpochs else { throw bad("epochs", "must be at most \(Self.maxEpochs), got \(epochs)") }
        guard seed >= 0 else { throw bad("seed", "must be ≥ 0, got \(seed)") }
        guard batchSize >= 1 else { throw bad("batch-size", "must be positive, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw bad("lr", "the learning rate must be positive, got \(lr)") }
        guard (0..<1).contains(momentum) else { throw bad("momentum", "must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0 else { throw bad("weight-decay", "must be ≥ 0, got \(weightDecay)") }
        guard subset >= 0 else { throw bad("subset", "must be ≥ 0 (0 = all data), got \(subset)") }
        guard preciseBN >= 0 else { throw bad("precise-bn", "must be ≥ 0 batches, got \(preciseBN)") }
        guard checkpointEvery >= 0 else { throw bad("checkpoint-every", "must be ≥ 0, got \(checkpointEvery)") }
        guard keepCheckpoints >= 0 else { throw bad("keep-checkpoints", "must be ≥ 0 (0 = keep all), got \(keepCheckpoints)") }
        if model == .mlp {
            guard trainPoints >= 1, testPoints >= 1 else { throw bad("train-points", "needs at least one training and one test point") }
            guard noise >= 0 else { throw bad("noise", "must be ≥ 0, got \(noise)") }
        }
        try validateLevels()
    }

    private func validateLevels() throws {
        func bad(_ key: String, _ problem: String) -> ConfigError { .invalid(key: key, problem: problem) }
        switch switchMode {
        case .schedule:
            for (i, e) in switchEpochs.enumerated() {
                guard e >= 1, e < epochs else {
                    throw bad("switch-epochs", "epoch \(e) is outside 1...\(epochs - 1): a switch must come after the first epoch and before the last (--epochs \(epochs))")
                }
                if i > 0, e <= switchEpochs[i - 1] {
                    throw bad("switch-epochs", "\(switchEpochs) is not strictly increasing")
                }
            }
        case .plateau:
            guard patience >= 1 else { throw bad("patience", "must be at least 1 epoch, got \(patience)") }
            guard minImprovement >= 0 else { throw bad("min-improvement", "must be ≥ 0, got \(minImprovement)") }
            guard maxLevels >= 1 else { throw bad("max-levels", "must be at least 1, got \(maxLevels)") }
        }
        guard levelLRFactor > 0, levelLRFactor <= 1 else {
            throw bad("level-lr-factor", "must be in (0, 1], got \(levelLRFactor): each level starts from this fraction of the level before's learning rate (1 = every level restarts at --lr)")
        }
        if !levels.isEmpty {
            guard levels.count >= levelCount else {
                throw bad("levels", "\(levels) names \(levels.count) levels but the switch schedule needs \(levelCount); give one block count per level")
            }
            guard levels[0] == blocks.max() && levels[0] == blocks.min() else {
                throw bad("levels", "the first level's block count \(levels[0]) must equal --blocks \(blocks)")
            }
        }
        // Each level at least nearly doubles the blocks: refuse counts that would overflow
        // before computing them.
        let blockLimit = 1 << 20
        var deepest = blocks.max() ?? 1
        for level in 1..<max(1, levelCount) where levels.isEmpty {
            deepest *= 2
            guard deepest <= blockLimit else {
                throw bad(switchMode == .plateau ? "max-levels" : "switch-epochs",
                          "\(levelCount) levels would need more than \(blockLimit) blocks per group by level \(level + 1); use fewer levels")
            }
        }
        for level in 1..<max(1, levelCount) {
            let before = blocks(atLevel: level - 1)
            let after = blocks(atLevel: level)
            guard zip(before, after).allSatisfy({ $0 < $1 }) else {
                throw bad("levels", "block counts must grow at every switch; level \(level) goes from \(before) to \(after)")
            }
        }
    }
}
