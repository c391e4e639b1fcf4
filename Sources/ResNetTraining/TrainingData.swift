import ResNetCore
import ResNetBase
import ResNetData

/// Targets of a batch: regression values or class labels.
public enum BatchTargets {
    case values(Tensor)
    case classes([Int])
}

/// The training and test sets of an experiment, behind one interface for the trainer.
public struct TrainingData {
    package enum Source {
        case regression(train: RegressionDataset, test: RegressionDataset, function: RegressionFunction)
        case images(train: ImageDataset, test: ImageDataset, augment: Bool)
    }

    let source: Source
    public let seed: UInt64
    /// Regression: x is standardised before the network sees it (see `networkInput`).
    var standardizesInput = false

    package init(source: Source, seed: UInt64) {
        self.source = source
        self.seed = seed
    }

    public var trainCount: Int {
        switch source {
        case .regression(let train, _, _): return train.count
        case .images(let train, _, _): return train.count
        }
    }

    public var testCount: Int {
        switch source {
        case .regression(_, let test, _): return test.count
        case .images(_, let test, _): return test.count
        }
    }

    public var isClassification: Bool {
        if case .images = source { return true }
        return false
    }

    /// Per-sample input shape: [1] for regression, [C, H, W] for images.
    public var sampleShape: [Int] {
        switch source {
        case .regression: return [1]
        case .images(let train, _, _): return train.sampleShape
        }
    }

    /// Loads the data the config names. The same on every rank (files or a seeded generator).
    public static func load(_ config: ExperimentConfig) throws -> TrainingData {
        let seed = UInt64(config.seed)
        switch config.dataset {
        case .regressionF1, .regressionF2:
            guard let f = config.dataset.regressionFunction else { preconditionFailure("a regression dataset names its function") }
            let (train, test) = makeRegressionData(f, seed: seed, trainCount: config.trainPoints,
                                                   testCount: config.testPoints, noiseStd: config.noise)
            let n = try checkedSubsetSizes(config, train: train.count, test: test.count)
            var data = TrainingData(source: .regression(train: train.subset(first: n.train), test: test.subset(first: n.test),
                                                        function: f), seed: seed)
            data.standardizesInput = config.standardizesInput
            return data
        case .fashionMNIST, .cifar10:
            let isFashion = config.dataset == .fashionMNIST
            let dir = !config.dataDir.isEmpty ? config.dataDir
                : isFashion ? defaultFashionMNISTDirectory : defaultCIFAR10Directory
            let (train, test) = try isFashion ? loadFashionMNIST(directory: dir) : loadCIFAR10(directory: dir)
            let n = try checkedSubsetSizes(config, train: train.count, test: test.count)
            return TrainingData(source: .images(train: train.subset(first: n.train), test: test.subset(first: n.test),
                                                augment: config.augment), seed: seed)
        }
    }

    /// `subsetSizes`, refusing a subset larger than the training set.
    static func checkedSubsetSizes(_ config: ExperimentConfig, train: Int, test: Int) throws -> (train: Int, test: Int) {
        guard config.subset <= train else {
            throw ConfigError.invalid(key: "subset", problem: "\(config.subset) is more than the \(train) training samples of \(config.dataset.rawValue); use at most \(train), or 0 for all")
        }
        return subsetSizes(config.subset, train: train, test: test)
    }

    /// `--subset N`: the first N training samples and N/6 test samples (the whole sets for 0).
    static func subsetSizes(_ subset: Int, train: Int, test: Int) -> (train: Int, test: Int) {
        subset > 0 ? (min(subset, train), min(max(1, subset / 6), test)) : (train, test)
    }

    /// A fingerprint of every sample and target (training and test sets), for the ranks to
    /// compare: equal sizes do not make equal data (a file that differs on one host).
    public func fingerprint() -> Int64 {
        var hash = FNV1a64()
        switch source {
        case let .regression(train, test, _):
            for v in [train.x, train.y, test.x, test.y] { v.withUnsafeBufferPointer { hash.update(bitPatternsOf: $0) } }
        case let .images(train, test, _):
            for set in [train, test] { hash.update(set.labels); hash.update(set.images) }
        }
        return Int64(bitPattern: hash.value)
    }

    /// A training batch of the given sample indices (epoch selects the augmentation).
    public func trainBatch(_ indices: [Int], epoch: Int) -> (input: Tensor, targets: BatchTargets) {
        switch source {
        case .regression(let train, _, _):
            return regressionBatch(train, indices)
        case .images(let train, _, let augment):
            let aug = augment ? ImageAugmentation(seed: seed, epoch: epoch) : nil
            return imageBatch(train, indices, augmentation: aug)
        }
    }

    /// Test samples `range` (no augmentation).
    public func testBatch(_ range: Range<Int>) -> (input: Tensor, targets: BatchTargets) {
        switch source {
        case .regression(_, let test, _): return regressionBatch(test, Array(range))
        case .images(_, let test, _): return imageBatch(test, Array(range), augmentation: nil)
        }
    }

    /// Test inputs and targets in order (for fit plots and exported predictions).
    public var regressionTestSet: RegressionDataset? {
        if case .regression(_, let test, _) = source { return test }
        return nil
    }

    /// The true function of a regression experiment.
    public var regressionFunction: RegressionFunction? {
        if case .regression(_, _, let f) = source { return f }
        return nil
    }

    private func regressionBatch(_ set: RegressionDataset, _ indices: [Int]) -> (input: Tensor, targets: BatchTargets) {
        var x = Tensor(shape: [indices.count, 1])
        var y = Tensor(shape: [indices.count, 1])
        x.data.withUnsafeMutableBufferPointer { xs in
            y.data.withUnsafeMutableBufferPointer { ys in
                set.writeBatch(indices: indices, inputs: xs, targets: ys)
            }
        }
        if standardizesInput { x.data = x.data.map(networkInput) }
        return (x, .values(y))
    }

    /// What the network sees of a regression input x ∈ [0, 2π]: x itself, or with
    /// `input-scaling: standard` (x − π)/(π/√3) — the mean and standard deviation of U[0, 2π],
    /// the same on every rank and for every subset.
    public func networkInput(_ x: Float) -> Float {
        guard standardizesInput else { return x }
        return Float((Double(x) - Double.pi) / (Double.pi / 3.0.squareRoot()))
    }

    /// The metric of the trivial predictor: for regression the test error norm of predicting the
    /// training targets' mean everywhere; for classification the accuracy of always predicting
    /// the test set's most frequent class (the majority class; 10 % for balanced classes).
    public var trivialMetric: Double {
        switch source {
        case .regression(let train, let test, _):
            let mean = train.y.reduce(0.0) { $0 + Double($1) } / Double(max(1, train.count))
            return test.y.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }.squareRoot()
        case .images(_, let test, _):
            var counts: [UInt8: Int] = [:]
            for label in test.labels { counts[label, default: 0] += 1 }
            return Double(counts.values.max() ?? 0) / Double(max(1, test.count))
        }
    }

    private func imageBatch(_ set: ImageDataset, _ indices: [Int], augmentation: ImageAugmentation?)
        -> (input: Tensor, targets: BatchTargets)
    {
        var x = Tensor(shape: [indices.count] + set.sampleShape)
        let labels = x.data.withUnsafeMutableBufferPointer {
            set.writeBatch(indices: indices, into: $0, augmentation: augmentation)
        }
        return (x, .classes(labels))
    }
}
