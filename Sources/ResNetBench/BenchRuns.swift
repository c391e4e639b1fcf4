import Foundation
import ResNetTraining
import ResNetCore

/// Whole training runs and test passes: the regression MLP (whose steps are too short for a
/// per-step window to say much), the Fashion-MNIST test pass, and where a run's time goes.
extension BenchReport {
    /// Where one `Trainer.run()`'s wall time went, per level: training steps and test passes,
    /// and the rest of the run (level switches, checkpoints, bookkeeping) as one figure.
    public struct RunTime: Codable, Equatable, Sendable {
        public struct Level: Codable, Equatable, Sendable {
            public var level: Int
            public var blocks: [Int]
            public var epochs: Int
            public var stepSeconds: Double
            public var evalSeconds: Double
        }
        public var levels: [Level]
        public var wallSeconds: Double
        public var stepSeconds: Double { levels.map(\.stepSeconds).reduce(0, +) }
        public var evalSeconds: Double { levels.map(\.evalSeconds).reduce(0, +) }
        public var otherSeconds: Double { wallSeconds - stepSeconds - evalSeconds }

        public init(levels: [Level], wallSeconds: Double) {
            self.levels = levels
            self.wallSeconds = wallSeconds
        }

        /// From a run's history (epochs without a recorded test pass count 0 for it).
        public init(_ summary: RunSummary) {
            let byLevel = Dictionary(grouping: summary.history, by: \.level)
            levels = byLevel.keys.sorted().map { level in
                let epochs = byLevel[level]!
                return Level(level: level, blocks: epochs[0].blocks, epochs: epochs.count,
                             stepSeconds: epochs.map(\.epochSeconds).reduce(0, +),
                             evalSeconds: epochs.map { $0.evalSeconds ?? 0 }.reduce(0, +))
            }
            wallSeconds = summary.trainSeconds
        }
    }

    /// The fastest of several whole runs of one regression variant (by training-step time).
    public struct RegressionRunRow: Codable, Equatable, Sendable {
        public var experiment: String
        public var variant: String
        public var preset: String
        public var epochs: Int
        public var trainCount: Int
        public var testCount: Int
        public var batch: Int
        public var runs: Int
        public var threads: Int
        public var time: RunTime
        /// Training samples per second of training steps (evaluation excluded).
        public var samplesPerSecond: Double { Double(epochs * trainCount) / time.stepSeconds }
    }

    /// The fastest of a few test passes over the whole test set (inference mode).
    public struct EvaluationRow: Codable, Equatable, Sendable {
        public var experiment: String
        public var variant: String
        public var testCount: Int
        public var ranks: Int
        public var threads: Int
        public var seconds: Double
        public var samplesPerSecond: Double { Double(testCount) / seconds }
    }

    /// Whole training epochs of a model as a run has them (batch assembly, steps, allreduce,
    /// Adam; the test pass left out): the fastest of a few after a warm-up epoch.
    public struct EpochRow: Codable, Equatable, Sendable {
        public var experiment: String
        public var variant: String
        public var images: Int
        public var batch: Int
        public var ranks: Int
        public var threads: Int
        public var seconds: Double
        public var samplesPerSecond: Double { Double(images) / seconds }
    }

    /// launch/bench_pytorch.py --epoch [--compile]: PyTorch's whole epochs of the same model.
    public struct PyTorchEpochRow: Codable, Equatable, Sendable {
        public var version: String
        public var threads: Int
        public var images: Int
        public var batch: Int
        public var seconds: Double
        public var compiled: Bool
        public var compileSeconds: Double?
        public var samplesPerSecond: Double { Double(images) / seconds }
    }

    /// launch/bench_pytorch.py --eval [--compile]: PyTorch's test pass of the same model.
    public struct PyTorchEvaluationRow: Codable, Equatable, Sendable {
        public var version: String
        public var threads: Int
        public var testCount: Int
        public var seconds: Double
        public var compiled: Bool
        public var compileSeconds: Double?
        public var samplesPerSecond: Double { Double(testCount) / seconds }
    }

    /// launch/bench_pytorch.py --mlp: the same MLP trained the same way in PyTorch, fastest run.
    public struct PyTorchMLPRow: Codable, Equatable, Sendable {
        public var version: String
        public var threads: Int
        public var epochs: Int
        public var trainCount: Int
        public var testCount: Int
        public var batch: Int
        public var width: Int
        public var blocks: Int
        public var runs: Int
        public var stepSeconds: Double
        public var evalSeconds: Double
        public var samplesPerSecond: Double { Double(epochs * trainCount) / stepSeconds }
    }

    var runsMarkdown: [String] {
        var out: [String] = []
        if !regression.isEmpty || !pytorchMLP.isEmpty {
            var rows = regression.map { r in
                "| resnet-dist | \(r.variant) (\(r.preset)) | \(r.epochs) × \(r.trainCount), batch \(r.batch) | \(r.threads) | \(r.runs) | \(f(r.time.stepSeconds, 3)) | \(f(r.samplesPerSecond, 0)) | \(f(r.time.evalSeconds, 3)) | \(f(r.time.wallSeconds, 3)) |"
            }
            rows += pytorchMLP.map { p in
                "| PyTorch \(p.version) | \(p.blocks) blocks, width \(p.width) | \(p.epochs) × \(p.trainCount), batch \(p.batch) | \(p.threads) | \(p.runs) | \(f(p.stepSeconds, 3)) | \(f(p.samplesPerSecond, 0)) | \(f(p.evalSeconds, 3)) | – |"
            }
            out += table("### Regression MLP (§5.1), whole runs: training steps and test passes timed apart (fastest run of each round)",
                         "| | variant | epochs × samples | threads | runs | training steps s | samples/s | evaluation s | wall s |",
                         "|---|---|---|---:|---:|---:|---:|---:|---:|", rows)
        }
        if !evaluation.isEmpty || !pytorchEvaluation.isEmpty {
            let torch = pytorchEvaluation.map { p in
                "| PyTorch \(p.version)\(p.compiled ? ", torch.compile (\(p.compileSeconds.map { f($0, 0) } ?? "?") s to compile)" : " eager") | fashion deep | \(p.testCount) | 1×\(p.threads) | \(f(p.seconds, 3)) | \(f(p.samplesPerSecond, 0)) |"
            }
            out += table("### Evaluation (the test pass, inference mode, fastest of a few)",
                         "| | variant | test samples | np×threads | seconds | samples/s |", "|---|---|---:|---|---:|---:|",
                         evaluation.map { e in "| resnet-dist \(e.experiment) | \(e.variant) | \(e.testCount) | \(e.ranks)×\(e.threads) | \(f(e.seconds, 3)) | \(f(e.samplesPerSecond, 0)) |" } + torch)
        }
        return out
    }

    /// Per level of each multi-level row's two runs: training steps, test passes, and the rest.
    var multilevelTimeMarkdown: [String] {
        var rows: [String] = []
        for r in multilevel {
            for (variant, time) in [("deep", r.deepTime), ("multilevel", r.multilevelTime)] {
                guard let time else { continue }
                for l in time.levels {
                    rows.append("| \(r.experiment) | \(variant) | \(l.level) | \(l.blocks.map(String.init).joined(separator: ",")) | \(l.epochs) | \(f(l.stepSeconds, 3)) | \(f(l.evalSeconds, 3)) | |")
                }
                rows.append("| \(r.experiment) | \(variant) | all | | | \(f(time.stepSeconds, 3)) | \(f(time.evalSeconds, 3)) | \(f(time.otherSeconds, 3)) |")
            }
        }
        guard !rows.isEmpty else { return [] }
        return table("### Multi-level: where the time goes (seconds; the rest is the switch, checkpoints and bookkeeping)",
                     "| experiment | run | level | blocks | epochs | training steps | evaluation | rest |",
                     "|---|---|---|---|---:|---:|---:|---:|", rows)
    }
}

extension BenchSections {
    /// The regression MLP's whole runs (`--preset thesis`, 50 epochs), the fastest of `runs`
    /// after a warm-up run.
    public func regressionRuns(report: inout BenchReport, runs: Int = 5) throws {
        let regression = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep", preset: .thesis)
        _ = try Trainer(config: regression, communicator: comm).run()
        guard runs > 0 else { return }
        let best = Self.fastest(try (0..<runs).map { _ in try Trainer(config: regression, communicator: comm).run() })
        report.regression.append(BenchReport.RegressionRunRow(
            experiment: regression.experiment, variant: regression.variant, preset: "thesis", epochs: regression.epochs,
            trainCount: regression.trainPoints, testCount: regression.testPoints, batch: regression.batchSize,
            runs: runs, threads: Kernels.threadCount, time: BenchReport.RunTime(best)))
    }

    /// The Fashion-MNIST deep model's test pass on a fresh trainer, the fastest of `passes` (the
    /// first allocates its buffers and is rarely the fastest).
    /// Whole epochs of the Fashion-MNIST deep network on `images` training images, as `train`
    /// runs them: one warm-up epoch, then the fastest of `epochs` (each epoch's training steps
    /// with their batch assembly; the test pass after each epoch is not counted).
    public func epoch(report: inout BenchReport, images: Int = 6144, epochs: Int = 2) throws {
        var c = try ExperimentConfig.builtIn(experiment: Experiment.fashion.name, variant: Experiment.deepVariant)
        c.subset = images
        c.epochs = 1 + epochs
        let summary = try Trainer(config: c, communicator: comm).run()
        let seconds = summary.history.dropFirst().map(\.epochSeconds).min() ?? summary.trainSeconds
        report.epochs.append(BenchReport.EpochRow(
            experiment: c.experiment, variant: c.variant, images: images, batch: c.batchSize, ranks: comm.size,
            threads: Kernels.threadCount, seconds: seconds))
    }

    public func evaluation(report: inout BenchReport, passes: Int = 3) throws {
        let fashion = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        let data = try TrainingBenchmark.data(for: fashion).0
        let trainer = try Trainer(config: fashion, communicator: comm, data: data)
        var seconds = Double.infinity
        for _ in 0..<passes {
            try comm.barrier()
            let t0 = ProcessStats.now()
            _ = try trainer.evaluate()
            seconds = min(seconds, ProcessStats.now() - t0)
        }
        report.evaluation.append(BenchReport.EvaluationRow(
            experiment: fashion.experiment, variant: fashion.variant, testCount: data.testCount, ranks: comm.size,
            threads: Kernels.threadCount, seconds: seconds))
    }
}
