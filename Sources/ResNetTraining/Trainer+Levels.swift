import Foundation
import Logging
import ResNetCore
import ResNetDistributed

extension Trainer {
    /// Rank 0 prolongs the model (and the optimizer state) and broadcasts it; every rank
    /// continues with the deeper model.
    func switchLevel(epoch: Int) throws {
        let newSpec = try Self.spec(config, level: levels.level + 1, data: data)
        let keepMoments = config.optimizerStateOnSwitch == .prolong
        let oldBlocks = model.spec.blocks
        var next: ResNetModel
        var moments: [[Float]] = []
        // Rank 0 compares the two models on the first test samples: the old model's outputs
        // are those the epoch's evaluation just kept (computed again only when it kept none).
        var comparison = [0.0, 0.0, 0.0, 0.0]   // relative output change, metric before, after, samples
        if comm.isRoot {
            let rule = config.prolongation.rule
            let (prolonged, map) = try prolong(model, toBlocks: newSpec.blocks, rule: rule,
                                               integrator: newSpec.integrator, h: newSpec.h)
            let count = evaluationProbe?.count ?? min(Self.switchProbeSamples, data.testCount)
            let probe = data.testBatch(0..<count)
            let before = try evaluationProbe?.outputs ?? model.forward(probe.input, training: false).data
            let after = try prolonged.forward(probe.input, training: false).data
            let num = zip(before, after).reduce(0.0) { $0 + Double(($1.1 - $1.0) * ($1.1 - $1.0)) }
            let den = before.reduce(0.0) { $0 + Double($1 * $1) }
            comparison = [den > 0 ? (num / den).squareRoot() : num.squareRoot(),
                          metric(sum: Self.metricSum(before, targets: probe.targets), samples: count).value,
                          metric(sum: Self.metricSum(after, targets: probe.targets), samples: count).value,
                          Double(count)]
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
        try comm.broadcast(&comparison, root: 0)
        evaluationProbe = nil
        let probeSamples = Int(comparison[3])
        switchRecords.append(SwitchRecord(epoch: epoch, fromBlocks: oldBlocks, toBlocks: newSpec.blocks,
                                          metricBefore: comparison[1], metricAfter: comparison[2],
                                          relativeOutputChange: comparison[0], probeSamples: probeSamples))
        if comm.isRoot {
            logger.info("level \(levels.level + 1): \(newSpec.blocks) blocks per group, h \(newSpec.h), \(newSpec.integrator.rawValue); test metric on the first \(probeSamples) test samples \(String(format: "%.5g", comparison[1])) → \(String(format: "%.5g", comparison[2])), output change \(String(format: "%.3g", comparison[0]))",
                        metadata: ["epoch": "\(epoch + 1)"])
        }
    }
}
