/// The seed thesis's experiments, built in (see the README's Results section for how they compare).
public struct Experiment: Sendable {
    public struct Variant: Sendable {
        public let name: String
        public let summary: String
        let apply: @Sendable (inout ExperimentConfig) -> Void
    }

    public let name: String
    public let summary: String
    public let defaultVariant: String
    public let variants: [Variant]
    let base: ExperimentConfig

    public func config(variant: String) -> ExperimentConfig? {
        guard let v = variants.first(where: { $0.name == variant }) else { return nil }
        var c = base
        c.variant = variant
        v.apply(&c)
        return c
    }

    public static func named(_ name: String) -> Experiment? { all.first { $0.name == name } }

    public static let all: [Experiment] = [
        regression, fashion, cifar, rk2Regression, rk2Fashion, rk2Multilevel,
    ]

    // MARK: - The table

    static func mlpBase(_ name: String, dataset: String) -> ExperimentConfig {
        ExperimentConfig(
            experiment: name, variant: "", dataset: dataset, model: "mlp", width: 32, channels: [],
            activation: "sigmoid", blocks: [2], levels: [], prolongation: "insert", h: 1,
            integrators: ["euler"], switchMode: "schedule", switchEpochs: [], patience: 3,
            minImprovement: 0.01, maxLevels: 2, optimizerStateOnSwitch: "prolong", epochs: 50,
            batchSize: 256, lr: 0.005, optimizer: "adam", momentum: 0.9, weightDecay: 0,
            schedule: "constant", seed: 1, subset: 0, dataDir: "", localBN: false, preciseBN: 0,
            checkpointEvery: 0, trainPoints: 2000, testPoints: 1500, noise: 1.0 / 500)
    }

    static func cnnBase(_ name: String, dataset: String, channels: [Int]) -> ExperimentConfig {
        var c = mlpBase(name, dataset: dataset)
        c.model = "cnn"
        c.width = 0
        c.channels = channels
        c.blocks = channels.map { _ in 2 }
        c.batchSize = 1024
        return c
    }

    static func shallow(_ c: inout ExperimentConfig) {}
    static func deep(_ blocks: Int) -> @Sendable (inout ExperimentConfig) -> Void {
        { c in c.blocks = c.blocks.map { _ in blocks } }
    }

    static let regression = Experiment(
        name: "regression",
        summary: "thesis §5.1: ResNet MLP fits cos²(x)·sin(x²); multi-level 2→3 blocks at epoch 25",
        defaultVariant: "multilevel",
        variants: [
            Variant(name: "shallow", summary: "2 blocks, h 1", apply: shallow),
            Variant(name: "deep", summary: "3 blocks, h 1", apply: deep(3)),
            Variant(name: "multilevel", summary: "2 → 3 blocks at epoch 25, h 1 → 1/2") { c in
                c.switchEpochs = [25]
            },
        ],
        base: mlpBase("regression", dataset: "regression-f1"))

    static let fashion = Experiment(
        name: "fashion",
        summary: "thesis §5.2: ResNet CNN (groups 16, 32) on Fashion-MNIST; multi-level 2→3 at epoch 25",
        defaultVariant: "multilevel",
        variants: [
            Variant(name: "shallow", summary: "2 blocks per group, h 1", apply: shallow),
            Variant(name: "deep", summary: "3 blocks per group, h 1", apply: deep(3)),
            Variant(name: "multilevel", summary: "2 → 3 blocks per group at epoch 25, h 1 → 1/2") { c in
                c.switchEpochs = [25]
            },
        ],
        base: cnnBase("fashion", dataset: "fashion-mnist", channels: [16, 32]))

    static let cifar = Experiment(
        name: "cifar",
        summary: "thesis §5.3: ResNet CNN (groups 16, 32, 64) on CIFAR-10; 3 levels 2→3→5 at epochs 15, 30",
        defaultVariant: "multilevel",
        variants: [
            Variant(name: "shallow", summary: "2 blocks per group, h 1", apply: shallow),
            Variant(name: "deep", summary: "5 blocks per group, h 1", apply: deep(5)),
            Variant(name: "multilevel", summary: "2 → 3 → 5 blocks per group at epochs 15 and 30, h 1 → 1/2 → 1/4") { c in
                c.levels = [2, 3, 5]
                c.switchEpochs = [15, 30]
            },
        ],
        base: cnnBase("cifar", dataset: "cifar10", channels: [16, 32, 64]))

    static let rk2Regression = Experiment(
        name: "rk2-regression",
        summary: "thesis §6.1: the deep regression MLP with Euler blocks against midpoint RK2 blocks",
        defaultVariant: "rk2",
        variants: [
            Variant(name: "deep", summary: "3 Euler blocks, h 1", apply: deep(3)),
            Variant(name: "rk2", summary: "3 midpoint RK2 blocks, h 1") { c in
                c.blocks = [3]
                c.integrators = ["midpoint"]
            },
        ],
        base: mlpBase("rk2-regression", dataset: "regression-f1"))

    static let rk2Fashion = Experiment(
        name: "rk2-fashion",
        summary: "thesis §6.2: the deep Fashion-MNIST CNN with Euler blocks against midpoint RK2 blocks",
        defaultVariant: "rk2",
        variants: [
            Variant(name: "deep", summary: "3 Euler blocks per group, h 1", apply: deep(3)),
            Variant(name: "rk2", summary: "3 midpoint RK2 blocks per group, h 1") { c in
                c.blocks = c.blocks.map { _ in 3 }
                c.integrators = ["midpoint"]
            },
        ],
        base: cnnBase("rk2-fashion", dataset: "fashion-mnist", channels: [16, 32]))

    static let rk2Multilevel: Experiment = {
        var base = mlpBase("rk2-multilevel", dataset: "regression-f2")
        base.levels = [2, 3, 5]
        base.switchEpochs = [1000, 4000]
        base.epochs = 8000
        base.lr = 0.001
        base.batchSize = 512
        return Experiment(
            name: "rk2-multilevel",
            summary: "thesis §6.3: MLP fits cos(x²)·cos(x)·sin(x²); 3 levels 2→3→5, Euler then RK2",
            defaultVariant: "rk2",
            variants: [
                Variant(name: "multilevel", summary: "Euler at every level, switches at epochs 1000 and 4000") { _ in },
                Variant(name: "rk2", summary: "level 1 Euler, levels 2–3 midpoint RK2") { c in
                    c.integrators = ["euler", "midpoint"]
                },
                Variant(name: "deep", summary: "5 Euler blocks from the start, h 1/4") { c in
                    c.levels = []
                    c.switchEpochs = []
                    c.blocks = [5]
                    c.h = 0.25
                },
            ],
            base: base)
    }()
}
