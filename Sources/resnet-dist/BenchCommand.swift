import ArgumentParser
import Foundation
import ResNetCore
import ResNetDistributed
import ResNetReport
import ResNetBench
import ResNetTraining

/// `resnet-dist bench`: the performance figures, as Markdown and JSON.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark kernels, training throughput, scaling, multi-level saving and full-scale epoch times.",
        discussion: """
            Sections: kernels, training, scaling (at np 1 also the model of the step at 2–256 \
            ranks on a cluster network), collectives (at np > 1 only the allreduce timings \
            scaling also takes, e.g. over another transport), multilevel, extrapolate, regression (whole runs of \
            the §5.1 MLP), evaluation (the Fashion-MNIST test pass), epoch (whole Fashion-MNIST \
            training epochs, as a run has them), all, and report (merges the JSON \
            files of several runs, e.g. one per mpirun size, into one set of tables, the targets' \
            table last). \
            `launch/bench` runs everything in one go. conv (not part of all) compares the direct \
            convolution kernels of each instruction set with Conv2d and sgemm.

            Examples:
              OPENBLAS_NUM_THREADS=1 resnet-dist bench training
              mpirun -np 2 -x OPENBLAS_NUM_THREADS=1 resnet-dist bench scaling \\
                  --json np2.json
              resnet-dist bench report --inputs np1.json np2.json --json runs/bench.json
            """)

    enum Section: String, ExpressibleByArgument, CaseIterable {
        case kernels, training, scaling, collectives, multilevel, extrapolate, regression, evaluation, epoch, all, report, conv
    }

    @Argument(help: "Which section to run.")
    var section: Section = .all

    @Option(help: ArgumentHelp("Write the figures as JSON to this file (rank 0).", valueName: "file"))
    var json: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("report: the JSON files to merge.", valueName: "file"))
    var inputs: [String] = []

    @Option(help: "Seconds of measured training steps per configuration (after one warm-up step).")
    var window: Double = 2

    @Option(help: "Batch of the kernel benchmark's layer rows.")
    var kernelBatch: Int = 256

    @Option(help: "conv: batch of the direct-convolution comparison.")
    var convBatch: Int = 1024

    @Option(help: "multilevel: training images of the Fashion-MNIST subset.")
    var fashionSubset: Int = 4096

    @Option(help: "multilevel: Fashion-MNIST epochs (the switch is half-way; below 2 skips Fashion-MNIST).")
    var fashionEpochs: Int = 2

    @Option(help: "epoch: training images of the whole epochs timed (Fashion-MNIST deep).")
    var epochImages: Int = 6144

    @Option(help: ArgumentHelp("scaling: draw the scaling model's predicted efficiency (np 1 runs measure it) as SVG to this file.", valueName: "file"))
    var scalingChart: String?

    @Option(help: ArgumentHelp("scaling at np > 1: name the transport the ranks talk over, for the allreduce rows (default: this machine's own).", valueName: "label"))
    var transport: String?

    @Flag(help: "training, extrapolate: overlap the gradient allreduce with backward, a mode training does not use (scaling measures both modes either way).")
    var overlapAllreduce = false

    func validate() throws {
        if section == .report && inputs.isEmpty { throw ValidationError("report needs --inputs") }
        if window <= 0 { throw ValidationError("--window must be positive") }
        if epochImages < 1024 || epochImages > 60_000 {
            throw ValidationError("--epoch-images must be 1024 (one batch) to 60000 (Fashion-MNIST's training images), got \(epochImages)")
        }
    }

    func run() throws {
        if section == .report { return try mergeReports() }
        if section == .conv { return print(try ConvolutionBenchmark.report(batch: convBatch)) }
        try runMPIJob { comm in
            bootstrapLogging(rank: comm.rank, quiet: true)
            var report = BenchReport()
            var sections = BenchSections(comm: comm, window: window, overlapAllreduce: overlapAllreduce)
            let run: (Section) -> Bool = { section == .all || section == $0 }
            if run(.kernels) {
                let cores = ProcessInfo.processInfo.activeProcessorCount
                if comm.size == 1 { try sections.kernels(report: &report, batch: kernelBatch, allCores: cores) }
            }
            if run(.training) { try sections.training(report: &report) }
            if run(.scaling) {
                try sections.scaling(report: &report)
                try sections.scalingModel(report: &report)
                try sections.collectives(report: &report, transport: transport)
                if let model = report.scalingModel, let svg = scalingChart, comm.isRoot {
                    try Data(Self.efficiencyChart(model).utf8).write(to: URL(fileURLWithPath: svg))
                }
            }
            if section == .collectives { try sections.collectives(report: &report, transport: transport) }
            if run(.multilevel) {
                try sections.multilevel(report: &report, fashionSubset: fashionSubset, fashionEpochs: fashionEpochs)
            }
            if run(.extrapolate) { try sections.extrapolate(report: &report) }
            if run(.regression) { try sections.regressionRuns(report: &report) }
            if run(.evaluation) { try sections.evaluation(report: &report) }
            if run(.epoch) { try sections.epoch(report: &report, images: epochImages) }
            guard comm.isRoot else { return }
            // One section's figures alone make a targets table of mostly "not measured": it
            // comes with `all` and with `report` (launch/bench's merged run).
            print(report.markdown(targets: section == .all))
            if let json { try write(report, to: json) }
        }
    }

    private func mergeReports() throws {
        var report = BenchReport()
        for path in inputs {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            report.merge(try JSONDecoder().decode(BenchReport.self, from: data))
        }
        print(report.markdown)
        if let json { try write(report, to: json) }
    }

    private func write(_ report: BenchReport, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try report.json().write(to: url, options: .atomic)
    }

    /// The scaling model's efficiency on each interconnect, with synchronised and local BatchNorm.
    static func efficiencyChart(_ model: ScalingModel) -> String {
        let nets: [(String, ScalingModel.Interconnect)] = [("InfiniBand", .infiniBand), ("10 GbE", .ethernet)]
        let series = nets.flatMap { name, net in
            [false, true].map { local in
                (label: "\(name), \(local ? "local" : "sync") BN",
                 efficiency: ScalingModel.ranks.map { model.predict(ranks: $0, on: net, localBatchNorm: local).efficiency })
            }
        }
        return EfficiencyChart.svg(title: "Predicted strong scaling at global batch \(model.globalBatch)",
                                   ranks: ScalingModel.ranks, series: series)
    }
}
