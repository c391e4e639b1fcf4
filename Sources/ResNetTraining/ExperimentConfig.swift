import Foundation
import ResNetCore

/// Everything that determines a training run, resolved from an experiment's defaults, a variant,
/// an optional YAML file and command-line flags (in that order). Every rank resolves the same
/// config; its hash is checked across ranks before the first collective, and it is written to
/// `config.yaml` in the run directory.
public struct ExperimentConfig: Codable, Equatable, Sendable {
    /// Built-in experiment name (`regression`, `fashion`, …) and variant (`shallow`, `deep`, …).
    public var experiment: String
    public var variant: String

    /// `regression-f1` (cos²x·sin x²), `regression-f2` (cos x²·cos x·sin x²), `fashion-mnist`, `cifar10`.
    public var dataset: Dataset
    /// `mlp` or `cnn`.
    public var model: ModelSpec.Kind
    /// Hidden width of the MLP.
    public var width: Int
    /// Channels of each residual group of the CNN.
    public var channels: [Int]
    /// `sigmoid`, `relu` or `tanh`.
    public var activation: Activation

    /// Residual blocks per group at the first level.
    public var blocks: [Int]
    /// Explicit block counts per level (every group), e.g. [2, 3, 5]; empty = derive by `prolongation`.
    public var levels: [Int]
    /// `insert` (n → 2n−1) or `double` (n → 2n).
    public var prolongation: Prolongation
    /// Step size of the first level; halved at every switch unless `hRule` says otherwise.
    public var h: Double
    /// Integrator per level (`euler`, `midpoint`/`rk2`, `heun`, `rk4`); the last one repeats.
    public var integrators: [Integrator]
    /// `schedule` (switch at `switchEpochs`) or `plateau` (switch when the training loss stalls).
    public var switchMode: SwitchRule
    /// Epochs after which the next level starts, strictly increasing, each < epochs.
    public var switchEpochs: [Int]
    /// Plateau mode: epochs without a relative improvement of `minImprovement` before switching.
    public var patience: Int
    public var minImprovement: Double
    /// Plateau mode: the number of levels at most (including the first).
    public var maxLevels: Int
    /// What happens to Adam's moments at a switch: `prolong` (mapped like the weights) or `reset`.
    public var optimizerStateOnSwitch: OptimizerStateOnSwitch

    public var epochs: Int
    /// Global batch size, split across ranks.
    public var batchSize: Int
    public var lr: Double
    /// `adam` or `sgd`.
    public var optimizer: OptimizerKind
    public var momentum: Double
    public var weightDecay: Double
    /// `constant`, or `cosine` (annealed within each level, restarting at a switch).
    public var schedule: ScheduleKind

    public var seed: Int
    /// Train on the first N training samples (and N/6 test samples); 0 = all.
    public var subset: Int
    /// Data directory (Fashion-MNIST / CIFAR-10); empty = the dataset's default.
    public var dataDir: String
    /// Keep BatchNorm statistics local to each rank instead of synchronising them.
    public var localBN: Bool
    /// Before each evaluation, re-estimate BatchNorm's running statistics from this many training
    /// batches with the current weights (0 = use the running averages from training as they are).
    public var preciseBN: Int
    /// Write a checkpoint every N epochs (0 = only at level switches and at the end).
    public var checkpointEvery: Int
    /// Keep the newest N checkpoints (and those at level switches); 0 = keep all.
    public var keepCheckpoints: Int
    /// Precision of the normalised activations the residual blocks keep for backward: `half`
    /// (half the memory, backward sees x̂ rounded to 11 bits) or `single` (Float).
    public var savedActivations: HalfPrecision.Storage

    /// CNN output layer: `flatten` (Flatten + Linear(C·H·W → classes)) or `pool` (global average
    /// pool + Linear(C → classes)).
    public var head: ModelSpec.Head
    /// CNN: an input layer (conv3×3 + BatchNorm + σ) before the first group.
    public var inputLayer: Bool
    /// Weights of Linear and Conv2d layers: `scaled` (Xavier for sigmoid/tanh, Kaiming for ReLU)
    /// or `pytorch` (U(±1/√fan_in), PyTorch's default).
    public var initialization: ModelSpec.Initialization
    /// Regression: what the network sees of x ∈ [0, 2π]: `standard` ((x − π)/(π/√3), zero mean
    /// and unit variance for uniform x) or `raw`.
    public var inputScaling: InputScaling
    /// Images: random crops and flips while training.
    public var augment: Bool
    /// The reading of the thesis the defaults come from: `fit` (ours: schedules long enough for
    /// the networks to learn) or `thesis` (the thesis's settings as printed).
    public var preset: Preset

    /// The step h of the later levels: `halve` (the thesis), `depth` (blocks × h kept) or `keep`.
    public var hRule: StepRule
    /// The learning rate each level after the first starts from, as a fraction of the level
    /// before's: level k (0-based) trains from lr × factorᵏ (1: every level restarts at lr).
    public var levelLRFactor: Double

    /// Regression data: training and test points, and the noise standard deviation.
    public var trainPoints: Int
    public var testPoints: Int
    public var noise: Double

    /// The config of a built-in experiment and variant.
    public static func builtIn(experiment: String, variant: String?, preset: Preset? = nil) throws -> ExperimentConfig {
        guard let exp = Experiment.named(experiment) else {
            throw ConfigError.unknownExperiment(experiment, known: Experiment.all.map(\.name))
        }
        let v = variant ?? exp.defaultVariant
        guard let made = exp.config(variant: v, preset: preset ?? .fit) else {
            throw ConfigError.unknownVariant(v, experiment: experiment, known: exp.variants.map(\.name))
        }
        return made
    }

    /// Whether regression inputs are standardised.
    public var standardizesInput: Bool { inputScaling == .standard }

    /// The number of levels the run may reach.
    public var levelCount: Int {
        switch switchMode {
        case .plateau: return max(1, maxLevels)
        case .schedule: return switchEpochs.count + 1
        }
    }

    /// Blocks per group at level `level` (0-based): the explicit `levels` when given, else the
    /// `prolongation` rule applied `level` times.
    public func blocks(atLevel level: Int) -> [Int] {
        if !levels.isEmpty {
            let n = levels[min(level, levels.count - 1)]
            return blocks.map { _ in n }
        }
        var b = blocks
        for _ in 0..<level { b = prolongation.rule.nextBlocks(after: b) }
        return b
    }

    /// The learning rate level `level` (0-based) starts from: lr × levelLRFactorˡᵉᵛᵉˡ (exactly lr
    /// at the first level and whenever the factor is 1).
    public func lr(atLevel level: Int) -> Double {
        levelLRFactor == 1 || level == 0 ? lr : lr * pow(levelLRFactor, Double(level))
    }

    /// Step size at `level`: by `hRule`, h halved at every switch (the default), scaled so that
    /// blocks × h stays the first level's (per the first group), or kept.
    public func h(atLevel level: Int) -> Double {
        switch hRule {
        case .halve: return h / pow(2, Double(level))
        case .keep: return h
        case .depth:
            let first = blocks(atLevel: 0).first ?? 1, now = blocks(atLevel: level).first ?? 1
            return now > 0 ? h * Double(first) / Double(now) : h
        }
    }

    /// Integrator at `level`; the list's last entry repeats.
    public func integrator(atLevel level: Int) -> Integrator {
        integrators[min(level, integrators.count - 1)]
    }

    /// Switch epochs at the same fractions of a run of `to` epochs as `epochs` are of `from`,
    /// kept strictly increasing inside 1...to−1 where that is possible.
    public static func scaledSwitchEpochs(_ epochs: [Int], from: Int, to: Int) -> [Int] {
        var out: [Int] = []
        for e in epochs {
            let scaled = Int((Double(e) * Double(to) / Double(from)).rounded())
            out.append(max(scaled, (out.last ?? 0) + 1))
        }
        return out
    }
}
