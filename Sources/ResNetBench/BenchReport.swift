import Foundation
import ResNetTraining
import ResNetCore

/// The figures of `resnet-dist bench`, as JSON and as Markdown tables. Each `bench` invocation
/// (one per mpirun size) fills some sections; `merged` combines them so ratios across
/// invocations (parallel efficiency) are computed from one run of `launch/bench`.
public struct BenchReport: Codable, Sendable {
    /// Kernel rows at one OpenBLAS thread, ratios to the one-thread sgemm reference.
    public var kernels: [KernelRow] = []
    /// The sgemm reference at all cores (ratio to the one-thread reference).
    public var kernelsAllCores: [KernelRow] = []
    public var training: [TrainingBenchmark.Measurement] = []
    /// Fashion-MNIST deep model at the thesis batch: one row per (ranks, overlap).
    public var scaling: [TrainingBenchmark.Measurement] = []
    /// The model of the step past one machine, from figures measured at one rank.
    public var scalingModel: ScalingModel?
    /// Allreduce times on this machine's transport (one row per rank count).
    public var collectives: [ScalingModel.CollectiveRow] = []
    public var multilevel: [MultiLevelRow] = []
    public var extrapolation: [ExtrapolationRow] = []
    /// PyTorch's images/s on the same model (filled by launch/bench when torch is importable).
    public var pytorch: [PyTorchRow] = []
    /// PyTorch's regression MLP (launch/bench_pytorch.py --mlp), against `regression`.
    public var pytorchMLP: [PyTorchMLPRow] = []
    /// Whole runs of the regression MLP (training steps and test passes timed apart).
    public var regression: [RegressionRunRow] = []
    /// The test pass of a model on its whole test set.
    public var evaluation: [EvaluationRow] = []
    /// PyTorch's test pass of the same model (launch/bench_pytorch.py --eval), eager and compiled.
    public var pytorchEvaluation: [PyTorchEvaluationRow] = []
    /// Whole training epochs of the Fashion-MNIST deep network (`bench epoch`).
    public var epochs: [EpochRow] = []
    /// PyTorch's whole epochs of the same network (launch/bench_pytorch.py --epoch), eager and compiled.
    public var pytorchEpochs: [PyTorchEpochRow] = []
    /// sgemm reference GFLOP/s at one thread (for the training ratios).
    public var referenceGflops: Double?
    /// The OpenBLAS core (kernel family) the kernel rows ran on, e.g. "SkylakeX" (see `BLASCore`).
    public var blasCore: String?

    public init() {}

    /// Every section is optional in the JSON: a file may hold any subset (e.g. only `pytorch`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kernels = try c.decodeIfPresent([KernelRow].self, forKey: .kernels) ?? []
        kernelsAllCores = try c.decodeIfPresent([KernelRow].self, forKey: .kernelsAllCores) ?? []
        blasCore = try c.decodeIfPresent(String.self, forKey: .blasCore)
        training = try c.decodeIfPresent([TrainingBenchmark.Measurement].self, forKey: .training) ?? []
        scaling = try c.decodeIfPresent([TrainingBenchmark.Measurement].self, forKey: .scaling) ?? []
        scalingModel = try c.decodeIfPresent(ScalingModel.self, forKey: .scalingModel)
        collectives = try c.decodeIfPresent([ScalingModel.CollectiveRow].self, forKey: .collectives) ?? []
        multilevel = try c.decodeIfPresent([MultiLevelRow].self, forKey: .multilevel) ?? []
        extrapolation = try c.decodeIfPresent([ExtrapolationRow].self, forKey: .extrapolation) ?? []
        pytorch = try c.decodeIfPresent([PyTorchRow].self, forKey: .pytorch) ?? []
        pytorchMLP = try c.decodeIfPresent([PyTorchMLPRow].self, forKey: .pytorchMLP) ?? []
        regression = try c.decodeIfPresent([RegressionRunRow].self, forKey: .regression) ?? []
        evaluation = try c.decodeIfPresent([EvaluationRow].self, forKey: .evaluation) ?? []
        pytorchEvaluation = try c.decodeIfPresent([PyTorchEvaluationRow].self, forKey: .pytorchEvaluation) ?? []
        epochs = try c.decodeIfPresent([EpochRow].self, forKey: .epochs) ?? []
        pytorchEpochs = try c.decodeIfPresent([PyTorchEpochRow].self, forKey: .pytorchEpochs) ?? []
        referenceGflops = try c.decodeIfPresent(Double.self, forKey: .referenceGflops)
    }

    /// One kernel figure (`BenchmarkRow`'s fields, with the rate spelled out for JSON readers).
    public struct KernelRow: Codable, Equatable, Sendable {
        public var name: String
        public var flops: Double
        public var seconds: Double
        public var gflops: Double
        public var ratioToReference: Double

        public init(name: String, flops: Double, seconds: Double, ratioToReference: Double) {
            self.name = name
            self.flops = flops
            self.seconds = seconds
            self.gflops = flops / seconds / 1e9
            self.ratioToReference = ratioToReference
        }

        public init(_ row: BenchmarkRow) {
            self.init(name: row.name, flops: row.flops, seconds: row.seconds, ratioToReference: row.ratioToReference)
        }
    }

    public struct MultiLevelRow: Codable, Equatable, Sendable {
        public var experiment: String
        public var subset: Int
        public var epochs: Int
        public var switchEpochs: [Int]
        public var ranks: Int
        public var deepSeconds: Double
        public var multilevelSeconds: Double
        public var deepMetric: Double
        public var multilevelMetric: Double
        public var metricName: String
        /// 1 − Σ epochs·FLOPs(level) / (epochs·FLOPs(deep)): the saving if time ∝ FLOPs.
        public var theoreticalSaving: Double
        /// Where each run's time went, per level (absent in files written before it).
        public var deepTime: RunTime? = nil
        public var multilevelTime: RunTime? = nil
        /// The saving in wall time (training steps, test passes, the switch and bookkeeping).
        public var measuredSaving: Double { 1 - multilevelSeconds / deepSeconds }
        /// The saving in the training steps' time alone, the time every verdict of `compare` uses
        /// and the one the FLOP count predicts (nil in files written before the time split).
        public var stepSaving: Double? {
            guard let deep = deepTime?.stepSeconds, let ml = multilevelTime?.stepSeconds, deep > 0 else { return nil }
            return 1 - ml / deep
        }
    }

    public struct ExtrapolationRow: Codable, Equatable, Sendable {
        public var experiment: String
        public var variant: String
        public var trainCount: Int
        /// Seconds per epoch at each level (from measured steps), and epochs spent there.
        public var levelEpochSeconds: [Double]
        public var levelEpochs: [Int]
        public var ranks: Int
        public var threads: Int
        public var totalSeconds: Double { zip(levelEpochSeconds, levelEpochs).map { $0 * Double($1) }.reduce(0, +) }
    }

    public struct PyTorchRow: Codable, Equatable, Sendable {
        public var version: String
        public var threads: Int
        public var batch: Int
        public var samplesPerSecond: Double
        public var stepSeconds: Double
        /// The instruction set PyTorch was limited to ("AVX2", "AVX-512"), matching the OpenBLAS
        /// core resnet-dist ran on (`blasCore`), and resnet-dist's fastest rate at the same
        /// thread count on that core (np × 1 thread or 1 × np threads), as launch/bench pairs them.
        public var instructionSet: String? = nil
        public var blasCore: String? = nil
        public var resnetDistSamplesPerSecond: Double? = nil
        /// launch/bench's regimes: "environment" (as the user set it) or "unset" (the run with
        /// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed), and what that environment was.
        public var regime: String? = nil
        public var environment: String? = nil
        /// PyTorch left to pick its own instruction set (true) or limited to `instructionSet`.
        public var asInstalled: Bool? = nil
        /// What PyTorch reports it runs on (`torch.backends.cpu.get_cpu_capability()`).
        public var capability: String? = nil
        /// The model ran after `torch.compile` (nil in files written before the mode existed:
        /// eager), and the seconds its compilation took (not part of the rate).
        public var compiled: Bool? = nil
        public var compileSeconds: Double? = nil
        /// The PyTorch process's peak resident memory after this row (nil in older files): for
        /// the first thread count a process measured, that training alone.
        public var peakRSSBytes: Int? = nil
        /// Bytes of the Fashion-MNIST-sized data set the process held while it trained (as
        /// resnet-dist's rank holds its images); nil in older files, which held none.
        public var heldDataBytes: Int? = nil
    }

    /// Sections of `other` are appended to this report's.
    public mutating func merge(_ other: BenchReport) {
        kernels += other.kernels
        kernelsAllCores += other.kernelsAllCores
        training += other.training
        scaling += other.scaling
        scalingModel = scalingModel ?? other.scalingModel
        collectives += other.collectives
        multilevel += other.multilevel
        extrapolation += other.extrapolation
        pytorch += other.pytorch
        pytorchMLP += other.pytorchMLP
        regression += other.regression
        evaluation += other.evaluation
        pytorchEvaluation += other.pytorchEvaluation
        epochs += other.epochs
        pytorchEpochs += other.pytorchEpochs
        referenceGflops = referenceGflops ?? other.referenceGflops
        blasCore = blasCore ?? other.blasCore
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    // MARK: - Markdown

    /// Every table, then the targets' table (computed from whatever sections this report holds).
    public var markdown: String { markdown(targets: true) }

    /// The tables of the sections present; the targets' table last when `targets`.
    public func markdown(targets: Bool) -> String {
        var out: [String] = []
        if !kernels.isEmpty || !kernelsAllCores.isEmpty {
            out += table("### Kernels (OpenBLAS 1 thread\(blasCore.map { ", core \($0)" } ?? ""); ratio to the 1-thread sgemm reference)", "| kernel | GFLOP/s | ratio | ms |", "|---|---:|---:|---:|",
                         (kernels + kernelsAllCores).map { r in "| \(r.name) | \(f(r.gflops, 1)) | \(pct(r.ratioToReference)) | \(f(1000 * r.seconds, 2)) |" })
        }
        if !training.isEmpty {
            out += table("### Training throughput (full steps: forward, loss, backward, allreduce, Adam)", "| experiment | level | blocks | h | integrator | batch | np×threads | samples/s | step ms | MFLOP/sample | GFLOP/s | ratio to sgemm |", "|---|---:|---|---:|---|---:|---|---:|---:|---:|---:|---:|",
                         training.map { m in "| \(m.experiment) | \(m.level + 1) | \(m.blocks.map(String.init).joined(separator: ",")) | \(f(m.h, 3)) | \(m.integrator) | \(m.batch) | \(m.ranks)×\(m.threads) | \(f(m.samplesPerSecond, 0)) | \(f(1000 * m.stepSeconds, 2)) | \(f(m.flopsPerSample / 1e6, 2)) | \(f(m.gflops, 1)) | \(referenceGflops.map { pct(m.gflops / $0) } ?? "–") |" })
        }
        if !pytorch.isEmpty {
            out += table("### Fashion-MNIST deep model against PyTorch (same model and batch; fastest step of each, paired rounds)",
                         "| OpenBLAS environment (core) | PyTorch \(pytorch[0].version) | threads | PyTorch img/s | resnet-dist img/s | ratio |",
                         "|---|---|---:|---:|---:|---:|", pytorch.map(pytorchLine))
        }
        if !epochs.isEmpty || !pytorchEpochs.isEmpty {
            let ours = epochs.map { r in "| resnet-dist | \(r.ranks)×\(r.threads) | \(r.images) | \(r.batch) | \(f(r.seconds, 3)) | \(f(r.samplesPerSecond, 0)) | – |" }
            let theirs = pytorchEpochs.map { r in "| PyTorch \(r.version) \(r.compiled ? "compiled" : "eager") | \(r.threads) thread\(r.threads == 1 ? "" : "s") | \(r.images) | \(r.batch) | \(f(r.seconds, 3)) | \(f(r.samplesPerSecond, 0)) | \(r.compileSeconds.map { f($0, 1) } ?? "–") |" }
            out += table("### Whole training epochs, Fashion-MNIST deep (fastest epoch after a warm-up; test pass not counted)",
                         "| who | np×threads | images | batch | s | img/s | compile s |", "|---|---|---:|---:|---:|---:|---:|", ours + theirs)
        }
        if !scaling.isEmpty { out.append(scalingMarkdown) }
        if !collectives.isEmpty {
            out += table("### Allreduce as measured here (fastest of many)", "| transport | np | 64 doubles µs | gradient (floats) ms | implied latency µs | implied bandwidth GB/s |", "|---|---:|---:|---:|---:|---:|",
                         collectives.map { r in "| \(r.transportName) | \(r.ranks) | \(f(r.smallSeconds * 1e6, 1)) | \(f(r.gradientSeconds * 1e3, 3)) (\(r.gradientFloats)) | \(f(r.latency * 1e6, 1)) | \(f(r.bandwidth / 1e9, 2)) |" })
        }
        if let scalingModel {
            // Beside the cluster defaults, each measured transport at its largest rank count.
            var measured: [String: ScalingModel.CollectiveRow] = [:], order: [String] = []
            for r in collectives {
                if measured[r.transportName] == nil { order.append(r.transportName) }
                if r.ranks >= measured[r.transportName]?.ranks ?? 0 { measured[r.transportName] = r }
            }
            out.append(scalingModel.markdown(networks: [.infiniBand, .ethernet] + order.map { measured[$0]!.interconnect }))
        }
        out += runsMarkdown
        if !multilevel.isEmpty {
            out += table("### Multi-level saving (same epochs; each the fastest of alternating runs; wall time incl. evaluation, and the training steps alone)", "| experiment | subset | epochs (switch) | np | deep s | multi-level s | saving, wall | saving, training steps | theoretical saving | deep metric | ML metric |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
                         multilevel.map { r in "| \(r.experiment) | \(r.subset == 0 ? "full" : String(r.subset)) | \(r.epochs) (\(r.switchEpochs.map(String.init).joined(separator: ","))) | \(r.ranks) | \(f(r.deepSeconds, 3)) | \(f(r.multilevelSeconds, 3)) | \(pct(r.measuredSaving)) | \(r.stepSaving.map(pct) ?? "–") | \(pct(r.theoreticalSaving)) | \(f(r.deepMetric, 4)) | \(f(r.multilevelMetric, 4)) |" })
        }
        out += multilevelTimeMarkdown
        if !extrapolation.isEmpty {
            out += table("### Full-scale time, extrapolated from measured steps (training steps only, no evaluation)", "| experiment | variant | train samples | np×threads | s/epoch per level | epochs per level | total |", "|---|---|---:|---|---|---|---:|",
                         extrapolation.map { r in "| \(r.experiment) | \(r.variant) | \(r.trainCount) | \(r.ranks)×\(r.threads) | \(r.levelEpochSeconds.map { f($0, 3) }.joined(separator: " / ")) | \(r.levelEpochs.map(String.init).joined(separator: " / ")) | \(duration(r.totalSeconds)) |" })
        }
        // The targets last: the one table the README's Performance section is built from.
        if targets { out.append(BenchTargets.markdown(BenchTargets.rows(self), reported: BenchTargets.reported(self))) }
        return out.joined(separator: "\n")
    }

    /// One row of the PyTorch comparison: against resnet-dist's fastest paired rate at the same
    /// thread count (np × 1 thread), or the scaling section's when launch/bench did not pair them.
    private func pytorchLine(_ p: PyTorchRow) -> String {
        let ours = p.resnetDistSamplesPerSecond ?? scaling.filter { $0.ranks * $0.threads == p.threads }
            .map(\.samplesPerSecond).max()
        let environment = "\(p.environment ?? p.regime ?? "as set") (\(p.blasCore ?? "?"))"
        var torch = p.asInstalled == true ? "as installed (\(p.capability ?? "?"))"
            : "limited to \(p.instructionSet ?? "?")"
        if p.compiled == true { torch += ", torch.compile (\(p.compileSeconds.map { f($0, 0) } ?? "?") s to compile)" }
        return "| \(environment) | \(torch) | \(p.threads) | \(f(p.samplesPerSecond, 0)) | \(ours.map { f($0, 0) } ?? "–") | \(ours.map { f($0 / p.samplesPerSecond, 2) + "×" } ?? "–") |"
    }

    /// A Markdown table under its heading, then a blank line.
    func table(_ title: String, _ header: String, _ rule: String, _ rows: [String]) -> [String] {
        [title + "\n", header, rule] + rows + [""]
    }

    private var scalingMarkdown: String {
        var out: [String] = []
        out.append("### Scaling: Fashion-MNIST deep model, global batch \(scaling[0].batch)\n")
        out.append("| np×threads | allreduce | img/s | speed-up vs np 1×1 | parallel efficiency | step ms | allreduce share | peak RSS/rank MB |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|")
        let base = scaling.first { $0.ranks == 1 && $0.threads == 1 }
        for m in scaling {
            let speedup = base.map { m.samplesPerSecond / $0.samplesPerSecond }
            // Efficiency against one core: the job uses ranks×threads cores (at most the machine's).
            let cores = Double(min(m.ranks * m.threads, max(ProcessInfo.processInfo.activeProcessorCount, 1)))
            let mode = m.ranks == 1 ? "–" : (m.overlapAllreduce ? "overlapped" : "single, after backward")
            out.append("| \(m.ranks)×\(m.threads) | \(mode) | \(f(m.samplesPerSecond, 0)) | \(speedup.map { f($0, 2) + "×" } ?? "–") | \(speedup.map { pct($0 / cores) } ?? "–") | \(f(1000 * m.stepSeconds, 0)) | \(pct(m.allreduceShare)) | \(f(Double(m.peakRSSBytes) / 1e6, 0)) |")
        }
        out.append("")
        // Overlap against a single allreduce after backward, per np.
        let multi = Set(scaling.filter { $0.ranks > 1 }.map(\.ranks)).sorted()
        if !multi.isEmpty {
            out.append("| np | steps each (interleaved) | fastest step ms, single | fastest, overlapped | difference | mean step ms, single | mean, overlapped | difference |")
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
            for np in multi {
                guard let single = scaling.first(where: { $0.ranks == np && !$0.overlapAllreduce }),
                      let overlapped = scaling.first(where: { $0.ranks == np && $0.overlapAllreduce }) else { continue }
                out.append("| \(np) | \(single.steps) | \(f(1000 * single.stepSeconds, 0)) | \(f(1000 * overlapped.stepSeconds, 0)) | \(pct(overlapped.stepSeconds / single.stepSeconds - 1)) | \(f(1000 * single.meanStepSeconds, 0)) | \(f(1000 * overlapped.meanStepSeconds, 0)) | \(pct(overlapped.meanStepSeconds / single.meanStepSeconds - 1)) |")
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}

func f(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
func pct(_ v: Double) -> String { String(format: "%.1f %%", 100 * v) }
private func duration(_ s: Double) -> String {
    s < 120 ? String(format: "%.1f s", s) : (s < 7200 ? String(format: "%.1f min", s / 60) : String(format: "%.2f h", s / 3600))
}
