import Foundation
import ResNetTraining
import ResNetCore
import ResNetDistributed

/// The sections of `resnet-dist bench`. Each runs on every rank of the job; figures are
/// collected on rank 0. Windows are short (seconds) so that `launch/bench` stays near ten minutes.
public struct BenchSections {
    public let comm: Communicator
    /// Seconds of measured steps per configuration (after one warm-up step).
    public var window: Double
    /// Whether the training and extrapolation sections overlap the gradient allreduce with
    /// backward. Off, as training runs; the scaling section measures both modes either way.
    public var overlapAllreduce: Bool
    /// Cache of measurements by configuration, so extrapolation reuses the training section.
    private var measured: [String: TrainingBenchmark.Measurement] = [:]

    public init(comm: Communicator, window: Double = 2, overlapAllreduce: Bool = false) {
        self.comm = comm
        self.window = window
        self.overlapAllreduce = overlapAllreduce
    }

    // MARK: Kernels

    /// sgemm reference and layer kernels at one thread, then the reference at all cores.
    public func kernels(report: inout BenchReport, batch: Int = 256, allCores: Int) throws {
        let saved = Kernels.threadCount
        defer { Kernels.useThreads(saved) }
        Kernels.useThreads(1)
        var rows = try KernelBenchmark.run(batch: batch, gemmSize: 1024, repetitions: 5).map(BenchReport.KernelRow.init)
        let reference = rows[0].gflops
        // The CIFAR-10 shapes and the stride-2 projections, beside the Fashion-MNIST rows.
        for (cin, cout, size, stride) in [(16, 16, 32, 1), (32, 32, 16, 1), (64, 64, 8, 1), (16, 32, 28, 2), (32, 64, 16, 2)] {
            let (fwd, bwd, flops) = try LayerTiming.conv(inputChannels: cin, outputChannels: cout, size: size,
                                                         stride: stride, batch: batch)
            rows.append(BenchReport.KernelRow(name: "conv \(cin)->\(cout) \(size)x\(size) s\(stride) b\(batch) fwd+bwd",
                                     flops: 3 * flops, seconds: fwd + bwd,
                                     ratioToReference: 3 * flops / (fwd + bwd) / 1e9 / reference))
        }
        report.kernels = rows
        report.referenceGflops = reference
        report.blasCore = BLASCore.described
        Kernels.useThreads(allCores)
        let all = try KernelBenchmark.run(batch: 2, gemmSize: 1024, repetitions: 3)[0]
        report.kernelsAllCores = [BenchReport.KernelRow(name: "sgemm 1024x1024x1024 (\(allCores) threads)", flops: all.flops,
                                               seconds: all.seconds, ratioToReference: all.gflops / reference)]
    }

    // MARK: Training throughput

    /// The experiments' distinct models: each level of the multi-level schedule under Euler and
    /// midpoint RK2, at the thesis batch sizes.
    public static func trainingConfigs() throws -> [(ExperimentConfig, level: Int)] {
        var out: [(ExperimentConfig, Int)] = []
        for name in ["regression", "fashion", "cifar"] {
            for integrator in [Integrator.euler, .midpoint] {
                var c = try ExperimentConfig.builtIn(experiment: name, variant: "multilevel")
                c.integrators = [integrator]
                for level in 0..<c.levelCount { out.append((c, level)) }
            }
        }
        // §6.3's MLP at its own batch (512), RK2 levels as the thesis runs them.
        let rk2 = try ExperimentConfig.builtIn(experiment: "rk2-multilevel", variant: "rk2")
        for level in 0..<rk2.levelCount { out.append((rk2, level)) }
        return out
    }

    private func key(_ c: ExperimentConfig, _ level: Int, overlap: Bool) -> String {
        let l = TrainingBenchmark.levelConfig(c, level: level)
        return "\(c.model)|\(c.dataset)|\(c.channels)|\(l.blocks)|\(l.h)|\(l.integrators)|\(c.batchSize)|\(comm.size)|\(overlap)"
    }

    /// Measures (or reuses) one configuration, with the allreduce mode of `overlapAllreduce`
    /// unless `overlap` is given.
    public mutating func measure(_ c: ExperimentConfig, level: Int, overlap: Bool? = nil,
                                 window: Double? = nil) throws -> TrainingBenchmark.Measurement {
        let overlap = overlap ?? overlapAllreduce
        let k = key(c, level, overlap: overlap)
        if let m = measured[k] { return m }
        // MLP steps take well under a millisecond: a short window still holds hundreds of them.
        let w = window ?? (c.model == .mlp ? min(self.window, 0.5) : self.window)
        // CIFAR-10 steps at batch 1024 take seconds each: one measured step after the warm-up.
        // They are also long enough that the first step's page faults are a small share: no warm-up.
        let cifar = c.dataset == .cifar10
        let m = try TrainingBenchmark.measure(config: c, communicator: comm, level: level,
                                              overlapAllreduce: overlap, warmup: cifar ? 0 : 1,
                                              minSteps: cifar ? 1 : 2, window: cifar ? 0 : w)
        measured[k] = m
        return m
    }

    public mutating func training(report: inout BenchReport) throws {
        for (c, level) in try Self.trainingConfigs() {
            report.training.append(try measure(c, level: level))
        }
    }

    // MARK: Scaling

    /// The Fashion-MNIST deep model at the thesis batch on this job's ranks, with the overlapped
    /// and the single allreduce when there is more than one rank.
    public mutating func scaling(report: inout BenchReport) throws {
        let c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        guard comm.size > 1 else {
            report.scaling.append(try measure(c, level: 0, overlap: false, window: max(window, 4)))
            return
        }
        // Overlapped and single allreduce interleaved step by step in one trainer, after a
        // warm-up step of each, at least three steps each: neither mode is always measured first.
        let pair = try TrainingBenchmark.measureAlternating(config: c, communicator: comm, overlapModes: [true, false],
                                                            warmup: 1, minSteps: 3, window: max(window, 6))
        report.scaling.append(contentsOf: pair)
    }

    // MARK: Multi-level

    /// Wall time of full `Trainer.run()`s: deep against multi-level for the same epochs.
    /// Regression §5.1 at full scale (50 epochs, switch at 25); Fashion-MNIST on the first
    /// `fashionSubset` training images for `fashionEpochs` epochs, switching half-way. Deep and
    /// multi-level alternate for `rounds` rounds and the fastest run of each (by training-step
    /// time) is kept: one round of Fashion-MNIST put the saving anywhere from 11.3 to 14.4 % on a
    /// quiet machine whose speed drifts by a few per cent over a minute (theory 14.7 %).
    public func multilevel(report: inout BenchReport, fashionSubset: Int = 4096, fashionEpochs: Int = 2,
                           rounds: Int = 2) throws {
        var jobs: [(String, Int, Int, [Int])] = [("regression", 0, 50, [25])]
        if fashionEpochs >= 2 { jobs.append(("fashion", fashionSubset, fashionEpochs, [fashionEpochs / 2])) }
        for (name, subset, epochs, switches) in jobs {
            var deep = try ExperimentConfig.builtIn(experiment: name, variant: "deep")
            var ml = try ExperimentConfig.builtIn(experiment: name, variant: "multilevel")
            for i in [0, 1] {
                var c = i == 0 ? deep : ml
                c.subset = subset
                c.epochs = epochs
                if i == 1 { c.switchEpochs = switches }
                if i == 0 { deep = c } else { ml = c }
            }
            // A warm-up epoch of the deep model (first-call and first-touch costs are not training
            // time; without it the deep run, measured first, paid them and the saving looked larger).
            var w = deep
            w.epochs = 1
            _ = try Trainer(config: w, communicator: comm).run()
            var deepRuns: [RunSummary] = [], mlRuns: [RunSummary] = []
            for _ in 0..<max(1, rounds) {
                deepRuns.append(try Trainer(config: deep, communicator: comm).run())
                mlRuns.append(try Trainer(config: ml, communicator: comm).run())
            }
            let deepSummary = Self.fastest(deepRuns), mlSummary = Self.fastest(mlRuns)
            report.multilevel.append(BenchReport.MultiLevelRow(
                experiment: name, subset: subset, epochs: epochs, switchEpochs: switches, ranks: comm.size,
                deepSeconds: deepSummary.trainSeconds, multilevelSeconds: mlSummary.trainSeconds,
                deepMetric: deepSummary.testMetric, multilevelMetric: mlSummary.testMetric,
                metricName: deepSummary.testMetricName.rawValue,
                theoreticalSaving: try Self.theoreticalSaving(multilevel: ml, deep: deep),
                deepTime: BenchReport.RunTime(deepSummary), multilevelTime: BenchReport.RunTime(mlSummary)))
        }
    }

    /// The run with the least training-step time.
    static func fastest(_ runs: [RunSummary]) -> RunSummary { runs.min { $0.stepSeconds < $1.stepSeconds }! }

    /// 1 − (Σ_level epochs · FLOPs/sample) / (epochs · FLOPs/sample of the deep model).
    static func theoreticalSaving(multilevel ml: ExperimentConfig, deep: ExperimentConfig) throws -> Double {
        let data = try TrainingBenchmark.data(for: deep).0
        func flops(_ c: ExperimentConfig, _ level: Int) throws -> Double {
            ResNetModel(spec: try LevelControl.spec(c, level: level, data: data), seed: 1).flopsPerSample()
        }
        let epochs = levelEpochs(ml)
        var cost = 0.0
        for (level, e) in epochs.enumerated() { cost += Double(e) * (try flops(ml, level)) }
        return 1 - cost / (Double(deep.epochs) * (try flops(deep, 0)))
    }

    /// Epochs spent at each level under the config's schedule.
    static func levelEpochs(_ c: ExperimentConfig) -> [Int] {
        let bounds = [0] + c.switchEpochs.prefix(c.levelCount - 1).map { min($0, c.epochs) } + [c.epochs]
        return (0..<(bounds.count - 1)).map { bounds[$0 + 1] - bounds[$0] }
    }

    // MARK: Extrapolation

    /// Seconds per epoch at each level from measured steps, times the thesis epochs, for every
    /// seed experiment's default variant.
    public mutating func extrapolate(report: inout BenchReport) throws {
        for experiment in Experiment.all {
            let c = try ExperimentConfig.builtIn(experiment: experiment.name, variant: experiment.defaultVariant)
            var seconds: [Double] = []
            var threads = 1
            for level in 0..<c.levelCount {
                let m = try measure(c, level: level)
                let steps = (m.trainCount + c.batchSize - 1) / c.batchSize
                seconds.append(Double(steps) * m.stepSeconds)
                threads = m.threads
            }
            report.extrapolation.append(BenchReport.ExtrapolationRow(
                experiment: experiment.name, variant: experiment.defaultVariant,
                trainCount: try measure(c, level: 0).trainCount, levelEpochSeconds: seconds,
                levelEpochs: Self.levelEpochs(c), ranks: comm.size, threads: threads))
        }
    }
}

/// Forward and backward times of single layers on random data (best of a few repetitions).
enum LayerTiming {
    static func conv(inputChannels: Int, outputChannels: Int, size: Int, stride: Int,
                     batch: Int) throws -> (forward: Double, backward: Double, forwardFlops: Double) {
        let weights = outputChannels * inputChannels * 9
        let conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 3,
                          stride: stride, padding: 1, weightOffset: 0, biasOffset: stride == 1 ? weights : nil)
        var rng = SplitMix64(seed: 2)
        var parameters = (0..<(weights + outputChannels)).map { _ in rng.nextUniform(bound: 0.1) }
        var gradients = [Float](repeating: 0, count: parameters.count)
        var state: [Float] = [0]
        let shape = [batch, inputChannels, size, size]
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform(bound: 1) })
        let flops = conv.forwardFlopsPerSample(height: size, width: size) * Double(batch)
        return try parameters.withUnsafeMutableBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                try state.withUnsafeMutableBufferPointer { s in
                    let buffers = LayerBuffers(parameters: p.baseAddress!, gradients: g.baseAddress!, state: s.baseAddress!)
                    var y = try conv.forward(x, training: true, buffers: buffers)
                    var best = (Double.infinity, Double.infinity)
                    for _ in 0..<4 {
                        let t0 = ProcessStats.now()
                        y = try conv.forward(x, training: true, buffers: buffers)
                        let t1 = ProcessStats.now()
                        _ = try conv.backward(y, buffers: buffers)
                        let t2 = ProcessStats.now()
                        best = (min(best.0, t1 - t0), min(best.1, t2 - t1))
                    }
                    return (best.0, best.1, flops)
                }
            }
        }
    }
}
