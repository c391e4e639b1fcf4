import Foundation
import Logging
import ResNetCore
import ResNetDistributed

extension Trainer {
    /// Rank 0 prolongs the model (and the optimizer state) and broadcasts it; every rank
    /// continues with the deeper model.
    func switchLevel(epoch: Int, metricBefore: Double) throws {
        let newSpec = try Self.spec(config, level: levels.level + 1, data: data)
        let keepMoments = config.optimizerStateOnSwitch == .prolong
        let oldBlocks = model.spec.blocks
        var next: ResNetModel
        var moments: [[Float]] = []
        var outputChange = 0.0
        if comm.isRoot {
            let rule = config.prolongation.rule
            let (prolonged, map) = try prolong(model, toBlocks: newSpec.blocks, rule: rule,
                                               integrator: newSpec.integrator, h: newSpec.h)
            let probe = data.testBatch(0..<min(256, data.testCount)).input
            let before = try model.forward(probe, training: false).data
            let after = try prolonged.forward(probe, training: false).data
            let num = zip(before, after).reduce(0.0) { $0 + Double(($1.1 - $1.0) * ($1.1 - $1.0)) }
            let den = before.reduce(0.0) { $0 + Double($1 * $1) }
            outputChange = den > 0 ? (num / den).squareRoot() : num.squareRoot()
            next = prolonged
            moments = keepMoments ? optimizer.moments.map { map.apply(to: $0) } : []
        } else {
            next = Self.makeModel(newSpec, config)
        }
        levels.advance(startingAt: epoch)
        model = next
        attachReducer()
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
        let metricAfter = try evaluate().value
        var change = [outputChange]
        try comm.allreduceSum(&change)  // only rank 0 measured it; the sum shares it
        switchRecords.append(SwitchRecord(epoch: epoch, fromBlocks: oldBlocks, toBlocks: newSpec.blocks,
                                          metricBefore: metricBefore, metricAfter: metricAfter,
                                          relativeOutputChange: change[0]))
        if comm.isRoot {
            logger.info("level \(levels.level + 1): \(newSpec.blocks) blocks per group, h \(newSpec.h), \(newSpec.integrator.rawValue); test metric \(String(format: "%.5g", metricBefore)) → \(String(format: "%.5g", metricAfter)), output change \(String(format: "%.3g", change[0]))",
                        metadata: ["epoch": "\(epoch + 1)"])
        }
    }
}
