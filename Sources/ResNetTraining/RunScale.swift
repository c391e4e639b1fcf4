/// How a run's settings relate to the thesis's experiment: what decides whether its figures can
/// be set against the thesis's.
public enum RunScale: String, Codable, Sendable {
    /// The thesis's data, model and schedule as printed (the `thesis` preset, all the data).
    case thesis
    /// All the data, the thesis's model, batch and learning rate, but our reading of what the
    /// thesis leaves open or cannot have meant (the `fit` preset: longer regression schedules,
    /// standardised inputs).
    case reading
    /// Less data or fewer epochs than the thesis: a smoke test, not a replication.
    case reduced
    /// Another model or optimiser setting than the thesis's (blocks, widths, lr, batch, …).
    case modified
    /// An experiment of ours beyond the thesis's, at its full scale (all the data and epochs).
    case beyond

    /// Words for tables and verdicts.
    public var phrase: String {
        switch self {
        case .thesis: return "the thesis's settings"
        case .reading: return "our reading of the thesis"
        case .reduced: return "reduced scale"
        case .modified: return "modified settings"
        case .beyond: return "our schedule beyond the thesis, full scale"
        }
    }
}

extension ExperimentConfig {
    /// Whether this config trains as `other` does: equal but for the seed (another draw of the
    /// same setting), where the data are read from, how often checkpoints are kept, and the name
    /// of the preset the settings came from.
    func trainsLike(_ other: ExperimentConfig) -> Bool {
        var mine = self
        mine.seed = other.seed
        mine.preset = other.preset
        mine.dataDir = other.dataDir
        mine.checkpointEvery = other.checkpointEvery
        mine.keepCheckpoints = other.keepCheckpoints
        return mine == other
    }

    /// The scale of this run against the thesis's settings of the same experiment and variant.
    public var scale: RunScale {
        guard let thesis = try? ExperimentConfig.builtIn(experiment: experiment, variant: variant, preset: .thesis) else {
            return .modified
        }
        if subset != 0 || trainPoints < thesis.trainPoints || testPoints < thesis.testPoints || epochs < thesis.epochs {
            return .reduced
        }
        if Experiment.named(experiment)?.isBeyondThesis == true { return trainsLike(thesis) ? .beyond : .modified }
        let sameModel = model == thesis.model && width == thesis.width && channels == thesis.channels
            && blocks == thesis.blocks && levels == thesis.levels && integrators == thesis.integrators
            && activation == thesis.activation && h == thesis.h && prolongation == thesis.prolongation
            && head == thesis.head && inputLayer == thesis.inputLayer && dataset == thesis.dataset
        let sameTraining = batchSize == thesis.batchSize && lr == thesis.lr && optimizer == thesis.optimizer
            && schedule == thesis.schedule && weightDecay == thesis.weightDecay && noise == thesis.noise
            && switchMode == thesis.switchMode
        guard sameModel, sameTraining else { return .modified }
        let sameSchedule = epochs == thesis.epochs && switchEpochs == thesis.switchEpochs
        let sameInputs = inputScaling == thesis.inputScaling && initialization == thesis.initialization
        return sameSchedule && sameInputs ? .thesis : .reading
    }
}
