import ArgumentParser
import Foundation
import ResNetDistributed
import ResNetTraining

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on its experiment's test set.",
        discussion: """
            Prints the test accuracy (images) or the test error norm, the L2 norm of \
            prediction − truth over the test set (regression). Runs on any number of ranks.

              mpirun -np 2 resnet-dist eval --checkpoint runs/regression-multilevel-…/
            """)

    @Option(help: ArgumentHelp("A checkpoint file, or a run directory (its newest checkpoint).", valueName: "path"))
    var checkpoint: String

    @Option(help: "Data directory, if the data is elsewhere than when the checkpoint was written.")
    var dataDir: String?

    @Option(help: ArgumentHelp("Regression: write x, truth and prediction of every test point as CSV.", valueName: "file"))
    var predictions: String?

    /// What was scored, when it is not the whole test set: a run trained with --subset is
    /// evaluated on the same first samples of the test set as during training.
    static func scope(_ config: ExperimentConfig, scored: Int) -> String {
        guard config.subset > 0 else { return "" }
        return " on the first \(scored) test samples only (the run's --subset \(config.subset))"
    }

    func run() throws {
        try runMPIJob { comm in
            let ckpt = try loadCheckpoint(checkpoint, comm: comm)
            var config = ckpt.config
            if let dataDir { config.dataDir = dataDir }
            var resume = ckpt
            resume.config = config
            let trainer = try Trainer(config: config, communicator: comm, resume: resume)
            let metric = try trainer.evaluate()
            guard metric.value.isFinite else {
                let bad = ckpt.parameters.filter { !$0.isFinite }.count + ckpt.state.filter { !$0.isFinite }.count
                throw TrainingError.output("\(checkpoint): the \(metric.kind.rawValue) is \(metric.value.isNaN ? "nan" : "\(metric.value)"): \(bad) of the checkpoint's \(ckpt.parameters.count + ckpt.state.count) weights and statistics are NaN or infinite (the run diverged before it was written); evaluate an earlier checkpoint")
            }
            if comm.isRoot {
                let value = metric.kind.isAccuracy ? String(format: "%.4f%%", metric.value * 100) : String(format: "%.6f", metric.value)
                print("\(config.experiment)/\(config.variant) after epoch \(ckpt.epoch), level \(ckpt.level + 1) (blocks \(ckpt.spec.blocks), h \(ckpt.spec.h), \(ckpt.spec.integrator.rawValue)): \(metric.kind.rawValue) \(value)\(Self.scope(config, scored: trainer.testSampleCount))")
            }
            if let predictions {
                try collectively(comm, "write the predictions") {
                    guard comm.isRoot else { return }
                    guard let p = try trainer.regressionPredictions() else {
                        throw ValidationError("--predictions is for regression experiments; \(config.experiment) classifies images")
                    }
                    var csv = "x,truth,prediction\n"
                    for i in p.x.indices { csv += "\(p.x[i]),\(p.truth[i]),\(p.prediction[i])\n" }
                    do { try csv.write(toFile: predictions, atomically: true, encoding: .utf8) } catch {
                        throw TrainingError.output("cannot write \(predictions): \(error)")
                    }
                }
            }
        }
    }
}
