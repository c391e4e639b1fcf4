import Foundation

/// Warnings about a config that will run but not learn, said before training starts.
public enum TrainingAdvice {
    /// Optimizer steps below which a run stays near the trivial predictor. A Fashion-MNIST run of
    /// 2 epochs at 4 steps each ends near 10 % accuracy; the quick examples that learn take a few
    /// hundred steps.
    public static let fewestSteps = 200

    /// Warnings for `config` at `stepsPerEpoch` steps per epoch (none for a run long enough).
    public static func warnings(_ config: ExperimentConfig, stepsPerEpoch: Int) -> [String] {
        let steps = stepsPerEpoch * config.epochs
        guard steps < fewestSteps, stepsPerEpoch > 0 else { return [] }
        let epochs = (fewestSteps + stepsPerEpoch - 1) / stepsPerEpoch
        var fixes = ["--epochs \(epochs)"]
        // A smaller global batch gives more steps per epoch, down to a batch that still keeps
        // every rank busy.
        var batch = config.batchSize
        while batch > 32, ((stepsPerEpoch * config.batchSize + batch - 1) / batch) * config.epochs < fewestSteps { batch /= 2 }
        if batch < config.batchSize {
            let perEpoch = (stepsPerEpoch * config.batchSize + batch - 1) / batch
            fixes.append("--batch-size \(batch) (\(perEpoch) steps per epoch)")
        }
        return ["only \(steps) training step\(steps == 1 ? "" : "s") (\(stepsPerEpoch) per epoch × \(config.epochs) epoch\(config.epochs == 1 ? "" : "s")) — too few to learn much; for at least \(fewestSteps) use \(fixes.joined(separator: " or "))"]
    }
}
