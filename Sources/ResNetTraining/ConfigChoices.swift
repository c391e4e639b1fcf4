import ResNetCore
import ResNetData

/// A configuration value that is one of a fixed set of names: its raw value is what YAML files,
/// flags and `config.yaml` spell. The core's own enums (activation, integrator, model kind, head,
/// initialisation, saved-activation storage) are used as they are; the choices below exist only
/// where the core has no named type.
public protocol ConfigChoice: RawRepresentable, Codable, Sendable where RawValue == String {
    /// Every value, in the order the help and the error messages list them.
    static var choices: [Self] { get }
}

extension ConfigChoice where Self: CaseIterable {
    public static var choices: [Self] { Array(allCases) }
}

extension ConfigChoice {
    /// "a, b or c": the names, for an error message.
    public static var spelledChoices: String {
        let names = choices.map(\.rawValue)
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

extension Activation: ConfigChoice {}
extension Integrator: ConfigChoice {}
extension ModelSpec.Head: ConfigChoice {}
extension ModelSpec.Initialization: ConfigChoice {}
extension HalfPrecision.Storage: ConfigChoice {}
extension ModelSpec.Kind: ConfigChoice {
    public static var choices: [ModelSpec.Kind] { [.mlp, .cnn] }
}

/// The data a run trains on.
public enum Dataset: String, ConfigChoice, CaseIterable {
    /// cos²(x)·sin(x²) on [0, 2π] (thesis §5.1).
    case regressionF1 = "regression-f1"
    /// cos(x²)·cos(x)·sin(x²) on [0, 2π] (thesis §6.3).
    case regressionF2 = "regression-f2"
    case fashionMNIST = "fashion-mnist"
    case cifar10

    /// The network a dataset needs: the MLP for a regression, the CNN for images.
    public var model: ModelSpec.Kind { regressionFunction == nil ? .cnn : .mlp }

    /// The function a regression dataset samples; nil for images.
    public var regressionFunction: RegressionFunction? {
        switch self {
        case .regressionF1: return .cosSquaredSinSquare
        case .regressionF2: return .cosSquareCosSinSquare
        case .fashionMNIST, .cifar10: return nil
        }
    }
}

/// How the block counts grow at a level switch (the core's `ProlongationRule` by name).
public enum Prolongation: String, ConfigChoice, CaseIterable {
    case insert, double

    public var rule: ProlongationRule {
        switch self {
        case .insert: return .insert
        case .double: return .double
        }
    }
}

/// When the next level starts.
public enum SwitchRule: String, ConfigChoice, CaseIterable {
    /// After the epochs in `switchEpochs`.
    case schedule
    /// When the training loss stops improving (`patience`, `minImprovement`, `maxLevels`).
    case plateau
}

/// The step size h of each level after the first.
public enum StepRule: String, ConfigChoice, CaseIterable {
    /// Halved at every switch (the thesis).
    case halve
    /// Chosen so that blocks × h stays the first level's (the groups' ODEs keep their end time):
    /// 2 → 3 blocks takes h from 1 to 2/3 instead of 1/2.
    case depth
    /// Kept as it is.
    case keep
}

/// What happens to the optimizer's state buffers at a level switch.
public enum OptimizerStateOnSwitch: String, ConfigChoice, CaseIterable {
    /// Mapped like the weights (every new block takes the state of the block it copies).
    case prolong
    /// Started afresh.
    case reset
}

public enum OptimizerKind: String, ConfigChoice, CaseIterable {
    case adam, sgd
}

/// The learning-rate schedule by name (the core's `LearningRateSchedule`).
public enum ScheduleKind: String, ConfigChoice, CaseIterable {
    case constant
    /// Annealed to 0 within each level, restarting at a switch.
    case cosine

    public var schedule: LearningRateSchedule {
        switch self {
        case .constant: return .constant
        case .cosine: return .cosineAnnealing(minimum: 0)
        }
    }
}

/// Regression: what the network sees of x ∈ [0, 2π].
public enum InputScaling: String, ConfigChoice, CaseIterable {
    case raw
    /// (x − π)/(π/√3): zero mean and unit variance for uniform x.
    case standard
}

/// The reading of the thesis a built-in experiment's defaults come from. The image experiments
/// are the same under both; the regressions under `thesis` stay at the mean predictor.
public enum Preset: String, ConfigChoice, CaseIterable {
    /// Ours: schedules long enough for the networks to learn.
    case fit
    /// The thesis's settings as printed.
    case thesis
}

/// What a run's test metric measures; its raw value is the name in `metrics.jsonl` and
/// `summary.json`.
public enum MetricKind: String, ConfigChoice, CaseIterable {
    /// The fraction of test images classified correctly (higher is better).
    case accuracy = "test accuracy"
    /// The L2 norm of prediction − truth over the test points (lower is better).
    case errorNorm = "test error norm"

    public var isAccuracy: Bool { self == .accuracy }

    /// Whether `a` is better than `b`.
    public func isBetter(_ a: Double, than b: Double) -> Bool { isAccuracy ? a > b : a < b }
}
