import ResNetCore
import ResNetSafeTensors

/// What a checkpoint must hold to be resumed or evaluated: a point of the run its config
/// describes, the model that run has at that point, and statistics a BatchNorm can hold. The
/// checksum only says the file is as written; these say it is a run's state, however it was made.
extension TrainingCheckpoint {
    func validate(_ file: SafeTensorsFile, stateSlots: [ParameterSlot], _ fail: (String) -> TrainingError) throws {
        try checkPosition(fail)
        try checkModel(fail)
        for key in ["experiment", "variant"] {
            let own = key == "experiment" ? config.experiment : config.variant
            if let v = file.metadata[key], v != own {
                throw fail("its metadata '\(key)' is '\(v)' but its config's \(key) is '\(own)'")
            }
        }
        try checkStatistics(stateSlots, fail)
    }

    /// The epoch, step and level must describe a point of the run its config describes; a
    /// resumed run indexes its schedule and per-level records with them.
    func checkPosition(_ fail: (String) -> TrainingError) throws {
        do { try config.validate() } catch { throw fail("its config: \(error)") }
        guard (0...config.epochs).contains(epoch) else {
            throw fail("its epoch \(epoch) is outside 0...\(config.epochs) (the run's --epochs)")
        }
        guard (0..<config.levelCount).contains(level) else {
            throw fail("its level \(level + 1) is outside 1...\(config.levelCount) (the run's levels)")
        }
        guard levelSeconds.count == level + 1, switchEpochs.count == level, switches.count <= level else {
            throw fail("its level \(level + 1) does not match its \(switchEpochs.count) switch epochs and \(levelSeconds.count) level times")
        }
        guard (0...epoch).contains(levelStartEpoch) else {
            throw fail("its level starts at epoch \(levelStartEpoch), after its epoch \(epoch)")
        }
        guard history.isEmpty || history.count == epoch else {
            throw fail("it holds \(history.count) epoch records for epoch \(epoch)")
        }
        guard globalStep >= 0, optimizerStep >= 0, stepInEpoch >= 0, epoch < config.epochs || stepInEpoch == 0 else {
            throw fail("its step counts (step \(globalStep), optimizer step \(optimizerStep), step in epoch \(stepInEpoch)) are impossible")
        }
    }


    /// The model must be the one the config has at the checkpoint's level.
    func checkModel(_ fail: (String) -> TrainingError) throws {
        let blocks = config.blocks(atLevel: level), h = config.h(atLevel: level)
        guard spec.blocks == blocks else {
            throw fail("its model has \(spec.blocks) blocks per group, but its config has \(blocks) at level \(level + 1)")
        }
        guard spec.h == h, spec.integrator == config.integrator(atLevel: level) else {
            throw fail("its model's step h \(spec.h) (\(spec.integrator.rawValue)) is not its config's at level \(level + 1): h \(h) (\(config.integrator(atLevel: level).rawValue))")
        }
    }

    /// Running means finite, running variances finite and not negative (in every rank's copy).
    func checkStatistics(_ slots: [ParameterSlot], _ fail: (String) -> TrainingError) throws {
        for (k, values) in ([state] + rankStates).enumerated() {
            for s in slots {
                let isVariance = s.name.hasSuffix("running_var")
                guard let bad = values[s.range].firstIndex(where: { !$0.isFinite || (isVariance && $0 < 0) }) else { continue }
                let which = k == 0 ? "" : " (rank \(k - 1)'s copy)"
                throw fail("its BatchNorm statistic '\(s.name)'\(which) holds \(values[bad]) at index \(bad - s.range.lowerBound), which no run produces\(isVariance ? " (a variance is finite and ≥ 0)" : "")")
            }
        }
    }
}
