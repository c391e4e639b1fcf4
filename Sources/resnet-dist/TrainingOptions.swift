import ArgumentParser
import Foundation
import ResNetCore
import ResNetTraining

/// The options shared by `train` and `compare`: an experiment, and overrides of its defaults.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Built-in experiment: regression, fashion, cifar, rk2-regression, rk2-fashion, rk2-multilevel (list: resnet-dist experiments).")
    var experiment: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("YAML file of config keys (kebab-case, as the flags), applied before the flags.", valueName: "file"))
    var configFile: String?

    @Option(help: "Reading of the thesis the defaults come from: fit (default; regressions run long enough, on standardised x, to learn) or thesis (the settings as printed: 50 epochs on raw x, which stay at the mean predictor).")
    var preset: Preset?

    @Option(parsing: .unconditional, help: "Number of epochs (a multi-level variant's built-in switch epochs scale with it unless --switch-epochs is given). Default: \(Self.builtInDefaults(\.epochs)).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Global batch size (split across ranks). Default: \(Self.builtInDefaults(\.batchSize)).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Learning rate. Default: \(Self.builtInDefaults(\.lr)).")
    var lr: Double?

    /// The experiments' own values of a key (fit preset, default variant), as the help's
    /// default: "1000 (regression, rk2-regression), 50 (fashion, …)". The defaults depend on the
    /// experiment, so argument-parser's single "(default: …)" cannot show them.
    static func builtInDefaults<T: Equatable & CustomStringConvertible>(_ key: KeyPath<ExperimentConfig, T>) -> String {
        var groups: [(value: T, names: [String])] = []
        for e in Experiment.all {
            guard let c = e.config(variant: e.defaultVariant) else { continue }
            if let i = groups.firstIndex(where: { $0.value == c[keyPath: key] }) { groups[i].names.append(e.name) }
            else { groups.append((c[keyPath: key], [e.name])) }
        }
        return groups.map { "\($0.value) (\($0.names.joined(separator: ", ")))" }.joined(separator: ", ")
    }

    @Option(help: "Optimizer.")
    var optimizer: OptimizerKind?

    @Option(parsing: .unconditional, help: "SGD: momentum (0.9 by default; Adam ignores it).")
    var momentum: Double?

    @Option(parsing: .unconditional, help: "L2 weight decay added to the gradient (0 by default).")
    var weightDecay: Double?

    @Option(name: .customLong("h"), parsing: .unconditional, help: "Step size h of the first level (halved at every switch).")
    var stepSize: Double?

    @Option(name: .customLong("h-rule"), help: "Step size of the later levels: halve (at every switch, the thesis), depth (blocks × h kept: 2 → 3 blocks takes h from 1 to 2/3) or keep.")
    var hRule: StepRule?

    @Option(name: .customLong("level-lr-factor"), parsing: .unconditional, help: "The learning rate each later level starts from, as a fraction of the level before's: 0.5 gives lr, lr/2, lr/4 … (1, the default: every level restarts at --lr).")
    var levelLRFactor: Double?

    @Option(help: ArgumentHelp("Residual blocks per group at the first level, e.g. 2,2 (one number = every group).", valueName: "n,n,…"))
    var blocks: String?

    @Option(help: ArgumentHelp("Integrator per level, e.g. euler or euler,midpoint: euler, midpoint (rk2), heun, rk4.", valueName: "name,…"))
    var integrator: String?

    @Option(help: "Prolongation at a switch: insert (n → 2n−1, the thesis) or double (n → 2n).")
    var prolongation: Prolongation?

    @Option(help: ArgumentHelp("Block counts per level for every group, e.g. 2,3,5 (overrides the prolongation rule's counts).", valueName: "n,n,…"))
    var levels: String?

    @Option(help: ArgumentHelp("Epochs after which the next level starts, e.g. 25 or 15,30.", valueName: "e,e,…"))
    var switchEpochs: String?

    @Option(name: .customLong("switch"), help: "When to switch level: schedule (--switch-epochs) or plateau (when the training loss stalls).")
    var switchMode: SwitchRule?

    @Option(parsing: .unconditional, help: "Plateau switching: epochs without improvement before switching.")
    var patience: Int?

    @Option(parsing: .unconditional, help: "Plateau switching: the relative improvement that counts (e.g. 0.01).")
    var minImprovement: Double?

    @Option(parsing: .unconditional, help: "Plateau switching: the number of levels at most.")
    var maxLevels: Int?

    @Option(help: "Adam/SGD state at a switch: prolong (mapped like the weights) or reset.")
    var optimizerStateOnSwitch: OptimizerStateOnSwitch?

    /// The flag's earlier name, still read.
    @Option(name: .customLong("optimizer-state"), help: ArgumentHelp(visibility: .hidden))
    var optimizerStateOldName: OptimizerStateOnSwitch?

    @Option(help: "Learning-rate schedule: constant, or cosine (restarting at each level).")
    var schedule: ScheduleKind?

    @Option(help: "Activation.")
    var activation: Activation?

    @Option(help: ArgumentHelp("CNN: channels of each residual group, e.g. 16,32.", valueName: "c,c,…"))
    var channels: String?

    @Option(parsing: .unconditional, help: "MLP: width of the residual blocks.")
    var width: Int?

    @Option(help: "CNN output layer: flatten (Flatten + Linear(C·H·W → 10), the default) or pool (global average pool + Linear(C → 10)).")
    var head: ModelSpec.Head?

    @Option(help: "CNN: an input layer (conv3×3 + BatchNorm + σ) before the first group: true (default) or false.")
    var inputLayer: Bool?

    @Option(name: .customLong("init"), help: "Weight initialisation: scaled (Xavier for sigmoid/tanh, Kaiming for ReLU) or pytorch (U(±1/√fan_in), PyTorch's default).")
    var initialization: ModelSpec.Initialization?

    @Option(help: "The data: regression-f1 (cos²x·sin x²), regression-f2 (cos x²·cos x·sin x²), fashion-mnist or cifar10 (the experiment sets it).")
    var dataset: Dataset?

    @Option(help: "The network: mlp (regression) or cnn (images); the experiment sets it.")
    var model: ModelSpec.Kind?

    @Option(parsing: .unconditional, help: "Regression: number of training points.")
    var trainPoints: Int?

    @Option(parsing: .unconditional, help: "Regression: number of test points.")
    var testPoints: Int?

    @Option(parsing: .unconditional, help: "Regression: standard deviation of the noise added to the training targets.")
    var noise: Double?

    @Option(help: "Regression: what the network sees of x: standard ((x − π)/(π/√3), the fit preset) or raw (x ∈ [0, 2π], the thesis preset).")
    var inputScaling: InputScaling?

    @Option(help: "Images: random crops and flips while training: true or false (default false; the thesis names none).")
    var augment: Bool?

    @Option(parsing: .unconditional, help: "Seed of the initial weights, the data order and the synthetic data.")
    var seed: Int?

    @Option(parsing: .unconditional, help: "Train on the first N training samples and N/6 test samples (0 = all).")
    var subset: Int?

    @Option(help: "Directory of the Fashion-MNIST or CIFAR-10 files (default: /usr/share/datasets/fashion-mnist, /usr/share/datasets/cifar-10-batches-bin).")
    var dataDir: String?

    @Flag(help: "Keep BatchNorm statistics local to each rank instead of synchronising them.")
    var localBn = false

    @Option(parsing: .unconditional, help: "Before each evaluation, re-estimate BatchNorm's running statistics from N training batches with the current weights (at most one epoch's batches; 0 = off; useful for short runs, where the running averages lag the weights).")
    var preciseBn: Int?

    @Option(help: "Precision of the normalised activations kept for backward: single (the built-in default) or half (halves their memory; gradients within ≈ 5e-4 relative, and training drifts from single precision's).")
    var savedActivations: HalfPrecision.Storage?

    @Option(parsing: .unconditional, help: "Write a checkpoint every N epochs (0 = at level switches and at the end).")
    var checkpointEvery: Int?

    @Option(parsing: .unconditional, help: "Keep the newest N checkpoints of the run, and those at level switches, removing older ones (0 = keep all; default 3).")
    var keepCheckpoints: Int?

    @Option(help: ArgumentHelp("Where runs are written: <experiment>-<variant>-<time>/ under this directory (default: runs). With --resume: continue in a new run directory under it instead of the checkpoint's own.", valueName: "dir"))
    var out: String?

    /// Where new run directories go.
    var outBase: String { out ?? "runs" }

    @Option(help: ArgumentHelp("train: continue the run of a checkpoint (a file, or a run directory: its newest checkpoint) with the checkpoint's config, in that run's own directory, wherever it is; a finished run says so, and --epochs N (more than the run's) trains it further. compare: continue the comparison in this directory (the runs/<experiment>-compare-… that compare made).", valueName: "path"))
    var resume: String?

    @Flag(help: "With --resume: continue in the checkpoint's own run directory even when --out is given (the default without --out).")
    var resumeInPlace = false

    @Flag(help: "No progress output (rank 0 still writes the run directory).")
    var quiet = false

    @Option(parsing: .unconditional, help: ArgumentHelp("When stderr is not a terminal: log every N-th epoch's line, and the first and the last (default: about 25 lines per run, e.g. every 40th of 1000 epochs).", valueName: "N"))
    var logEvery: Int?

    /// Rank 0 prints the global loss of the first N steps (for the np-invariance tests).
    @Option(help: ArgumentHelp(visibility: .hidden))
    var traceSteps: Int = 0

    /// Fault injection for the reliability tests: a NaN loss at the start of this epoch.
    @Option(parsing: .unconditional, help: ArgumentHelp(visibility: .hidden))
    var injectNanAtEpoch: Int?

    /// The flags given on the command line, typed as the config keys they set (`--variant` is
    /// the command's own argument, passed in).
    func flagOverrides(variant: String? = nil) throws -> ConfigOverrides {
        var o = ConfigOverrides()
        o.experiment = experiment
        o.variant = variant
        o.preset = preset
        o.epochs = epochs
        o.batchSize = batchSize
        o.lr = lr
        o.optimizer = optimizer
        o.momentum = momentum
        o.weightDecay = weightDecay
        o.dataset = dataset
        o.model = model
        o.trainPoints = trainPoints
        o.testPoints = testPoints
        o.noise = noise
        o.h = stepSize
        o.hRule = hRule
        o.levelLRFactor = levelLRFactor
        o.prolongation = prolongation
        o.switchMode = switchMode
        o.patience = patience
        o.minImprovement = minImprovement
        o.maxLevels = maxLevels
        o.optimizerStateOnSwitch = optimizerStateOnSwitch ?? optimizerStateOldName
        o.schedule = schedule
        o.activation = activation
        o.width = width
        o.head = head
        o.inputLayer = inputLayer
        o.inputScaling = inputScaling
        o.initialization = initialization
        o.augment = augment
        o.seed = seed
        o.subset = subset
        o.dataDir = dataDir
        o.localBN = localBn ? true : nil
        o.checkpointEvery = checkpointEvery
        o.keepCheckpoints = keepCheckpoints
        o.preciseBN = preciseBn
        o.savedActivations = savedActivations
        // The lists are given as "2,3,5" and read as a config file's values are.
        for (key, text) in [(ExperimentConfig.CodingKeys.blocks, blocks), (.integrators, integrator), (.levels, levels),
                            (.switchEpochs, switchEpochs), (.channels, channels)] {
            if let text { try o.set(key, text: text, source: "command line") }
        }
        return o
    }

    /// Resolves the config of `variant`: built-in defaults, then the YAML file, then the flags
    /// (`ExperimentConfig.resolve`). With `extending`, `--epochs` may come with `--resume` (to
    /// train a run further).
    func resolve(variant: String?, comparing: Bool = false, extending: Bool = false) throws -> ExperimentConfig {
        if resumeInPlace && resume == nil {
            throw ValidationError("--resume-in-place continues a run directory given with --resume; add --resume <run directory> or drop it")
        }
        let flags = try flagOverrides(variant: variant)
        if resume != nil {
            // --data-dir moves no trajectory (the data are checked against the checkpoint's).
            var given = flags.givenKeys.filter { !(extending && $0 == .epochs) && $0 != .dataDir }.map { "--" + $0.rawValue }
            if configFile != nil { given.append("--config") }
            guard given.isEmpty else {
                throw ValidationError("--resume continues the checkpoint's run with the checkpoint's config; drop \(given.joined(separator: ", ")) (start a new run to change them)")
            }
        }
        let file = try configFile.map { try ConfigOverrides(yamlFile: $0) } ?? ConfigOverrides()
        return try ExperimentConfig.resolve(file: file, fileSource: configFile ?? "", flags: flags, comparing: comparing)
    }
}
