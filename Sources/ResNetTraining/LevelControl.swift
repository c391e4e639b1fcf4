import Foundation
import Logging
import ResNetCore
import ResNetDistributed

/// The model of each level: building it and sharing it across ranks, the level schedule (when
/// the next level starts, the learning rate within a level), and the switch to the next level.
/// At a switch rank 0 prolongs the model, carries the optimizer's state over and measures what
/// the switch did; every rank continues with the deeper model and the same switch record. One
/// job, given the model and the optimizer; the trainer holds one.
package struct LevelControl {
    let config: ExperimentConfig
    let comm: Communicator
    let data: TrainingData
    /// Gives the switch records their test metrics.
    let evaluator: Evaluator
    let logger: Logger
    private(set) var schedule: LevelSchedule
    /// What each switch so far did (the same on every rank).
    private(set) var records: [SwitchRecord] = []

    init(config: ExperimentConfig, comm: Communicator, data: TrainingData, evaluator: Evaluator, logger: Logger) {
        self.config = config
        self.comm = comm
        self.data = data
        self.evaluator = evaluator
        self.logger = logger
        self.schedule = LevelSchedule(config: config)
    }

    /// Continues at a checkpoint's level, with its switches.
    mutating func restore(_ c: TrainingCheckpoint) {
        schedule = LevelSchedule(config: config, level: c.level, levelStartEpoch: c.levelStartEpoch, switchEpochs: c.switchEpochs)
        records = c.switches
    }

    /// The model spec of `level`.
    package static func spec(_ c: ExperimentConfig, level: Int, data: TrainingData) throws -> ModelSpec {
        let integrator = c.integrator(atLevel: level), activation = c.activation
        let blocks = c.blocks(atLevel: level)
        let h = c.h(atLevel: level)
        if c.model == .mlp {
            return ModelSpec.mlp(inputs: 1, outputs: 1, width: c.width, blocks: blocks[0], h: h,
                                 integrator: integrator, activation: activation, initialization: c.initialization)
        }
        return ModelSpec(kind: .cnn, inputShape: data.sampleShape, outputs: 10, widths: c.channels,
                         blocks: blocks, h: h, integrator: integrator, activation: activation,
                         inputLayer: c.inputLayer, head: c.head, initialization: c.initialization)
    }

    /// A model of this run with `spec`: the config's seed and execution options.
    func makeModel(_ spec: ModelSpec) -> ResNetModel {
        let model = ResNetModel(spec: spec, seed: UInt64(config.seed))
        model.execution.savedActivations = config.savedActivations
        return model
    }

    /// Every rank takes rank 0's weights and statistics of `model` (built from the same seed on
    /// every rank, but a broadcast makes that a guarantee rather than an assumption), and its
    /// BatchNorm layers sum their statistics across ranks unless `--local-bn`.
    func share(_ model: ResNetModel) throws {
        model.batchNormReducer = config.localBN || comm.size == 1 ? nil : try CommunicatorReducer(comm, model: model)
        try comm.broadcast(&model.parameters, root: 0)
        try comm.broadcast(&model.state, root: 0)
    }

    /// Switches to the next level, which starts with epoch `epoch`: the deeper model, shared by
    /// every rank, and the optimizer that trains it — with the state of `optimizer` prolonged like
    /// the parameters (`--optimizer-state-on-switch prolong`) or a fresh one. `probe` is rank 0's
    /// outputs of `model` on the first test samples from the epoch's evaluation (computed again
    /// when nil).
    mutating func switchLevel(_ model: ResNetModel, optimizer: Optimizer, startingAt epoch: Int,
                              probe: ProbeOutputs?) throws -> (model: ResNetModel, optimizer: Optimizer) {
        let newSpec = try Self.spec(config, level: schedule.level + 1, data: data)
        let next: ResNetModel
        // Rank 0 prolongs the state (nil: the next level starts with a fresh optimizer).
        var state = config.optimizerStateOnSwitch == .prolong ? optimizer.state : nil
        var measured: SwitchRecord?
        if comm.isRoot {
            let (prolonged, map) = try prolong(model, toBlocks: newSpec.blocks, rule: config.prolongation.rule,
                                               integrator: newSpec.integrator, h: newSpec.h)
            measured = try measureSwitch(from: model, to: prolonged, epoch: epoch, probe: probe)
            next = prolonged
            state = state?.prolonged(by: map)
        } else {
            next = makeModel(newSpec)
        }
        schedule.advance(startingAt: epoch)
        try share(next)
        let nextOptimizer = try Optimizer.shared(config, parameterCount: next.parameterCount, state: state, comm)
        let record = try broadcast(measured, comm)
        records.append(record)
        if comm.isRoot {
            logger.info("level \(schedule.level + 1): \(newSpec.blocks) blocks per group, h \(newSpec.h), \(newSpec.integrator.rawValue); test metric on the first \(record.probeSamples ?? 0) test samples \(String(format: "%.5g", record.metricBefore)) → \(String(format: "%.5g", record.metricAfter)), output change \(String(format: "%.3g", record.relativeOutputChange))",
                        metadata: ["epoch": "\(epoch + 1)"])
        }
        return (next, nextOptimizer)
    }

    /// The old and the prolonged model on the first test samples: their test metrics and the
    /// relative change of the outputs (inference mode).
    private func measureSwitch(from old: ResNetModel, to prolonged: ResNetModel, epoch: Int, probe: ProbeOutputs?) throws -> SwitchRecord {
        let count = probe?.count ?? min(Evaluator.switchProbeSamples, data.testCount)
        let samples = data.testBatch(0..<count)
        let before = try probe?.outputs ?? old.forward(samples.input, training: false).data
        let after = try prolonged.forward(samples.input, training: false).data
        let num = zip(before, after).reduce(0.0) { $0 + Double(($1.1 - $1.0) * ($1.1 - $1.0)) }
        let den = before.reduce(0.0) { $0 + Double($1 * $1) }
        return SwitchRecord(epoch: epoch, fromBlocks: old.spec.blocks, toBlocks: prolonged.spec.blocks,
                            metricBefore: evaluator.metric(sum: Evaluator.metricSum(before, targets: samples.targets), samples: count).value,
                            metricAfter: evaluator.metric(sum: Evaluator.metricSum(after, targets: samples.targets), samples: count).value,
                            relativeOutputChange: den > 0 ? (num / den).squareRoot() : num.squareRoot(), probeSamples: count)
    }
}
