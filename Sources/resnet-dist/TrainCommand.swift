import ArgumentParser
import Foundation
import Logging
import ResNetDistributed
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
              mpirun -np 2 resnet-dist train --experiment fashion --subset 6000 --epochs 4 --switch-epochs 2
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
            var config = try options.resolve(variant: variant)
            let resume = try options.resume.map { try loadCheckpoint($0, comm: comm) }
            if let resume { config = resume.config }
            if printConfig {
                if comm.isRoot { print(try config.yaml()) }
                return
            }
            let summary = try trainVariant(config, options: options, comm: comm, resume: resume)
            if comm.isRoot, !options.quiet { print(ReportTable.summaryLine(summary)) }
        }
    }
}

/// Trains one resolved config with the output, logging and tracing the options ask for.
func trainVariant(_ config: ExperimentConfig, options: TrainingOptions, comm: Communicator,
                  resume: TrainingCheckpoint? = nil) throws -> RunSummary {
    let logger = Logger(label: "resnet-dist")
    let output = try collectively(comm, "create the run directory") { () -> RunOutput? in
        guard comm.isRoot else { return nil }
        return try RunOutput(directory: RunOutput.defaultDirectory(base: options.out, config: config))
    }
    let trainer = try Trainer(config: config, communicator: comm, resume: resume, logger: logger)
    if let resume, comm.isRoot {
        logger.info("resuming after epoch \(resume.epoch) at level \(resume.level + 1) (\(resume.spec.blocks) blocks per group)")
    }
    trainer.output = output
    trainer.injectNaNAtEpoch = options.injectNanAtEpoch
    if options.traceSteps > 0, comm.isRoot {
        let limit = options.traceSteps
        let first = resume?.globalStep ?? 0
        trainer.stepObserver = { step, loss in
            if step - first < limit { print("step \(step + 1) loss \(String(format: "%.9e", loss))") }
        }
    }
    if comm.isRoot, !options.quiet {
        logger.info("\(config.experiment)/\(config.variant): \(comm.size) ranks, \(trainer.model.parameterCount) parameters, output \(output?.directory ?? "-")")
        trainer.epochObserver = { r in
            logger.info("\(ReportTable.epochLine(r, epochs: config.epochs))")
        }
    }
    return try trainer.run()
}

/// swift-log to stderr; only rank 0 logs at info, the others warnings and errors only.
func bootstrapLogging(rank: Int, quiet: Bool) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = rank == 0 && !quiet ? .info : .warning
        if rank != 0 { handler.metadata["rank"] = "\(rank)" }
        return handler
    }
}
