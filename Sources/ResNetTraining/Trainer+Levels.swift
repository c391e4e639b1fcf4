import Foundation
import Logging
import ResNetCore
import ResNetDistributed

extension Trainer {
    /// Rank 0 prolongs the model (and the optimizer state), measures what the switch did on the
    /// first test samples and sends both to every rank; every rank continues with the deeper
    /// model. `probe` is rank 0's outputs of the old model on those samples from the epoch's
    /// evaluation (computed again when nil).
    func switchLevel(epoch: Int, probe: ProbeOutputs?) throws {
        let newSpec = try Self.spec(config, level: levels.level + 1, data: data)
        let keepMoments = config.optimizerStateOnSwitch == .prolong
        var next: ResNetModel
        var moments: [[Float]] = []
        var measured: SwitchRecord?
        if comm.isRoot {
            let (prolonged, map) = try prolong(model, toBlocks: newSpec.blocks, rule: config.prolongation.rule,
                                               integrator: newSpec.integrator, h: newSpec.h)
            measured = try measureSwitch(from: model, to: prolonged, epoch: epoch, probe: probe)
            next = prolonged
            moments = keepMoments ? optimizer.moments.map { map.apply(to: $0) } : []
        } else {
            next = Self.makeModel(newSpec, config)
        }
        levels.advance(startingAt: epoch)
        model = next
        try attachReducer()
        try broadcastModel()
        if keepMoments {
            if !comm.isRoot {
                moments = optimizer.moments.map { _ in [Float](repeating: 0, count: model.parameterCount) }
            }
            for i in moments.indices { try comm.broadcast(&moments[i], root: 0) }
            optimizer.adopt(moments: moments, parameterCount: model.parameterCount)
        } else {
            optimizer = Optimizer.make(config, parameterCount: model.parameterCount)
        }
        let record = try broadcast(measured, comm)
        switchRecords.append(record)
        if comm.isRoot {
            logger.info("level \(levels.level + 1): \(newSpec.blocks) blocks per group, h \(newSpec.h), \(newSpec.integrator.rawValue); test metric on the first \(record.probeSamples ?? 0) test samples \(String(format: "%.5g", record.metricBefore)) → \(String(format: "%.5g", record.metricAfter)), output change \(String(format: "%.3g", record.relativeOutputChange))",
                        metadata: ["epoch": "\(epoch + 1)"])
        }
    }

    /// The old and the prolonged model on the first test samples: their test metrics and the
    /// relative change of the outputs (inference mode).
    func measureSwitch(from old: ResNetModel, to prolonged: ResNetModel, epoch: Int, probe: ProbeOutputs?) throws -> SwitchRecord {
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
