import ArgumentParser
import Foundation
import Logging
import ResNetData
import ResNetDistributed
import ResNetReport
import ResNetTraining

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train one variant of an experiment on all ranks of the job.",
        discussion: """
            Rank 0 writes runs/<experiment>-<variant>-<time>/ (see --out): config.yaml, \
            metrics.jsonl (one line per epoch) and summary.json.

            Examples:
              mpirun -np 4 resnet-dist train --experiment regression --variant multilevel
              mpirun -np 2 resnet-dist train --experiment fashion --epochs 5 \\
                  --subset 6000 --batch-size 128
              mpirun -np 2 resnet-dist train --config launch/experiments/fashion.yaml
            """)

    @Option(help: "Variant of the experiment: shallow, deep, multilevel, rk2 (which exist depends on the experiment).")
    var variant: String?

    @OptionGroup var options: TrainingOptions

    @Flag(help: "Print the resolved config as YAML (a file --config reads) and exit without training.")
    var printConfig = false

    func run() throws {
        try runMPIJob { comm in
            bootstrapLogging(rank: comm.rank, quiet: options.quiet)
            try stopCleanlyOnSignals()
            // Every rank reports how its own arguments and files parsed, and that it takes the
            // same path (print or train, fresh or resumed), before any acts on them: a config
            // that fails on some ranks only must not leave the others waiting.
            var config = try collectively(comm, "read the config") { try options.resolve(variant: variant, extending: true) }
            try comm.verifyAgreement([
                ("whether --print-config is given (0 no, 1 yes)", printConfig ? 1 : 0),
                ("whether --resume is given (0 no, 1 yes)", options.resume == nil ? 0 : 1),
            ])
            var resume = try options.resume.map { try loadCheckpoint($0, comm: comm, history: true) }
            if var r = resume {
                try r.extend(to: options.epochs)
                if let dataDir = options.dataDir { r.config.dataDir = dataDir }  // where the data are now
                if r.isFinished {
                    if comm.isRoot { FileHandle.standardError.write(Data("resnet-dist: \(finishedMessage(r, path: options.resume ?? ""))\n".utf8)) }
                    return
                }
                config = r.config
                resume = r
            }
            if printConfig {
                if comm.isRoot { print(try config.printableYAML(), terminator: "") }
                return
            }
            let inPlace = try collectively(comm, "find the run directory to continue") {
                comm.isRoot ? try resumeDirectory(options) : nil
            }
            let trained = try trainVariant(config, options: options, comm: comm, resume: resume, inPlace: inPlace)
            if comm.isRoot, !options.quiet { print(ReportTable.summaryLine(trained.summary)) }
        }
    }
}

/// What one trained variant leaves for reports: its summary and, for regression, its fit.
struct TrainedVariant {
    typealias Fit = (x: [Double], truth: [Double], prediction: [Double], testX: [Double], testY: [Double])
    var summary: RunSummary
    var fit: Fit?
}

/// Trains one resolved config with the output, progress and tracing the options ask for; rank 0
/// writes the run directory under `base` (default `--out`), or continues `inPlace`. `label` names
/// the run on the progress line (a comparison's variant and seed; default experiment/variant).
func trainVariant(_ config: ExperimentConfig, options: TrainingOptions, comm: Communicator,
                  resume: TrainingCheckpoint? = nil, base: String? = nil, inPlace: String? = nil,
                  label: String? = nil) throws -> TrainedVariant {
    let logger = Logger(label: "resnet-dist")
    let output = try collectively(comm, "create the run directory") { () -> RunOutput? in
        guard comm.isRoot else { return nil }
        if let inPlace {
            let output = try RunOutput(directory: inPlace)
            // A finished run trained further is unfinished until its new summary is written.
            try? FileManager.default.removeItem(atPath: output.path("summary.json"))
            return output
        }
        return try RunOutput(directory: RunOutput.createUnique(base: base ?? options.outBase, config: config))
    }
    // A run refused before it starts (data, sizes, memory) leaves no empty directory behind.
    var started = false
    defer { if !started, inPlace == nil { output?.removeIfEmpty() } }
    let data = try Trainer.loadData(config, comm)
    let stepsPerEpoch = GlobalBatchSharder(config, data).stepsPerEpoch
    // Rank 0 draws the progress and prints the traced steps; the trainer is built with the hooks.
    let reporter = comm.isRoot ? ProgressReporter(label: label ?? "\(config.experiment)/\(config.variant)", totalEpochs: config.epochs,
                                                  stepsPerEpoch: stepsPerEpoch, quiet: options.quiet, logEvery: options.logEvery) : nil
    let first = resume?.globalStep ?? 0
    let limit = options.traceSteps
    let hooks = TrainerHooks(
        step: reporter.map { reporter in
            { step, loss in
                if step - first < limit { print("step \(step + 1) loss \(String(format: "%.9e", loss))") }
                reporter.step(globalStep: step, loss: loss, samples: config.batchSize)
            }
        },
        epoch: reporter?.epochFinished,
        stopRequest: { StopSignals.received },
        injectNaNAtEpoch: options.injectNanAtEpoch)
    let trainer = try Trainer(config: config, communicator: comm, data: data, resume: resume, output: output,
                              resumedFrom: resume == nil ? nil : options.resume, hooks: hooks, logger: logger)
    started = true
    var progress: ProgressReporter? = nil
    if let reporter {
        if let resume {
            logger.info("resuming after epoch \(resume.epoch) at level \(resume.level + 1) (\(resume.spec.blocks) blocks per group)")
        }
        // On a terminal a comparison's live lines name each run, and its directory is printed at the end.
        if label == nil || !reporter.isTerminal {
            logger.info("\(config.experiment)/\(config.variant): \(ReportTable.ranks(comm.size)), \(trainer.model.parameterCount) parameters, \(stepsPerEpoch) steps per epoch, output \(output?.directory ?? "-")")
        }
        // Advice for a person at the screen; --quiet (scripts, tests of short runs) goes without.
        if !options.quiet {
            for warning in TrainingAdvice.warnings(config, stepsPerEpoch: stepsPerEpoch) { logger.warning("\(warning)") }
        }
        ProgressReporter.current = reporter
        progress = reporter
    }
    // The live line ends before anything else is printed, also when the run stops early.
    defer {
        progress?.finish()
        ProgressReporter.current = nil
    }
    let summary = try trainer.run()
    let fit = try collectively(comm, "compute the fitted function") { comm.isRoot ? try trainer.regressionFit() : nil }
    if let output {
        try collectively(comm, "write the report") {
            try RunReport.write(runs: [summary], fit: fit.map { reportFit([(config.variant, $0.prediction)], $0) },
                                directory: output.directory, title: "\(config.experiment) / \(config.variant)")
        }
    } else {
        try collectively(comm, "write the report") {}
    }
    return TrainedVariant(summary: summary, fit: fit)
}

/// Where `train --resume` continues: the checkpoint's own run directory, wherever it is, unless
/// `--out` asks for a new one (or the checkpoint lies outside any run directory). A checkpoint
/// older than its run's newest is refused there: continuing it would mix two histories.
func resumeDirectory(_ options: TrainingOptions) throws -> String? {
    guard let path = options.resume, options.out == nil || options.resumeInPlace else { return nil }
    let directory: String
    do { directory = try runDirectory(ofCheckpoint: path) } catch {
        if options.resumeInPlace { throw error }
        return nil
    }
    let file = (try TrainingCheckpoint.locate(path) as NSString).lastPathComponent
    // Newer checkpoints that do not read back whole (a truncated copy) do not count.
    for newer in TrainingCheckpoint.candidates(in: [directory]).prefix(while: { ($0 as NSString).lastPathComponent != file })
    where (try? TrainingCheckpoint.read(path: newer)) != nil {
        throw TrainingError.output("\(file) is older than its run's newest checkpoint \(newer); continuing it in \(directory) would mix two histories: continue the newest (--resume \(directory)), or this one in a new run directory (add --out <dir>)")
    }
    return directory
}

/// What `train --resume` says of a run that has trained all its epochs.
func finishedMessage(_ c: TrainingCheckpoint, path: String) -> String {
    "the run of \(path) is finished (\(c.config.epochs) of \(c.config.epochs) epochs); nothing to resume. To train it further, add --epochs N with N > \(c.config.epochs)"
}

/// The run directory a checkpoint (or a run directory given to --resume) belongs to.
func runDirectory(ofCheckpoint path: String) throws -> String {
    let directory = (try TrainingCheckpoint.locate(path) as NSString).deletingLastPathComponent
    guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("config.yaml")) else {
        throw TrainingError.output("--resume-in-place: \(directory) is not a run directory (it has no config.yaml); drop --resume-in-place to continue in a new one")
    }
    return directory.isEmpty ? "." : directory
}

/// The fit plot's series: the truth, each variant's prediction, the test points.
func reportFit(_ predictions: [(String, [Double])],
               _ f: (x: [Double], truth: [Double], prediction: [Double], testX: [Double], testY: [Double])) -> FitSeries {
    FitSeries(x: f.x, truth: f.truth, predictions: predictions.map { (label: $0.0, y: $0.1) }, testX: f.testX, testY: f.testY)
}

/// swift-log to stderr; only rank 0 logs at info, the others warnings and errors only.
func bootstrapLogging(rank: Int, quiet: Bool) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = rank == 0 && !quiet ? .info : .warning
        if rank != 0 { handler.metadata["rank"] = "\(rank)" }
        return LiveLineLogHandler(inner: handler)
    }
}

/// A log handler that clears rank 0's live progress line before each message, so a level switch
/// or a warning is not written over the line (which is redrawn on the next step).
struct LiveLineLogHandler: LogHandler {
    var inner: StreamLogHandler
    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }
    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        if let clear = ProgressReporter.current?.clearLine(), !clear.isEmpty {
            FileHandle.standardError.write(Data(clear.utf8))
        }
        inner.log(event: event)
    }
}
