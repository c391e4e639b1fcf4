import Foundation
import XCTest
import ResNetDistributed
import ResNetCore
import ResNetData
import ResNetSafeTensors
@testable import ResNetTraining

final class TrainerTests: XCTestCase {
    func smallRegression(epochs: Int = 6) throws -> ExperimentConfig {
        var c = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
        c.subset = 256
        c.batchSize = 64
        c.epochs = epochs
        c.switchEpochs = [epochs / 2]
        return c
    }

    func testTrainingLowersTheLossAndSwitchesLevel() throws {
        let summary = try Trainer(config: try smallRegression(), communicator: SingleProcessCommunicator()).run()
        XCTAssertEqual(summary.history.count, 6)
        XCTAssertEqual(summary.switchEpochs, [3])
        XCTAssertEqual(summary.finalBlocks, [3])
        XCTAssertEqual(summary.history.map(\.level), [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(summary.history[3].h, 0.5)
        XCTAssertLessThan(summary.history.last!.trainLoss, summary.history.first!.trainLoss)
        XCTAssertEqual(summary.switches.count, 1)
        XCTAssertEqual(summary.switches[0].toBlocks, [3])
        // Every epoch records its test pass apart from its steps; both fit inside the run's wall time.
        let eval = summary.history.compactMap(\.evalSeconds)
        XCTAssertEqual(eval.count, 6)
        XCTAssertTrue(eval.allSatisfy { $0 >= 0 })
        XCTAssertLessThanOrEqual(summary.stepSeconds + (summary.evalSeconds ?? .infinity), summary.trainSeconds)
    }

    /// The switch record's metrics are those of the old and the prolonged model on the first
    /// 256 test samples, the error norm scaled to the whole test set — computed here again by hand.
    func testSwitchRecordMeasuresBothModelsOnTheFirstTestSamples() throws {
        var c = try smallRegression(epochs: 2)
        c.subset = 1800   // 300 test samples: more than the 256 compared
        c.batchSize = 256
        var expected: (before: Double, after: Double, change: Double)?
        var built: Trainer?
        let trainer = try Trainer(config: c, communicator: SingleProcessCommunicator(), hooks: TrainerHooks(epoch: { record in
            guard record.epoch == 1, let trainer = built else { return }
            let model = trainer.model
            let test = trainer.data.testBatch(0..<256)
            guard case .values(let truth) = test.targets,
                  let spec = try? LevelControl.spec(c, level: 1, data: trainer.data),
                  let (deeper, _) = try? prolong(model, toBlocks: spec.blocks, rule: c.prolongation.rule,
                                                integrator: spec.integrator, h: spec.h),
                  let before = try? model.forward(test.input, training: false).data,
                  let after = try? deeper.forward(test.input, training: false).data else { return }
            func norm(_ p: [Float]) -> Double {
                (zip(p, truth.data).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } * 300 / 256).squareRoot()
            }
            let change = (zip(before, after).reduce(0.0) { $0 + pow(Double($1.1 - $1.0), 2) }
                          / before.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            expected = (norm(before), norm(after), change)
        }))
        built = trainer
        let summary = try trainer.run()
        let e = try XCTUnwrap(expected)
        let s = try XCTUnwrap(summary.switches.first)
        XCTAssertEqual(trainer.data.testCount, 300)
        XCTAssertEqual(s.probeSamples, 256)
        XCTAssertEqual(s.metricBefore, e.before, accuracy: 1e-9 * e.before)
        XCTAssertEqual(s.metricAfter, e.after, accuracy: 1e-9 * e.after)
        XCTAssertEqual(s.relativeOutputChange, e.change, accuracy: 1e-6 * e.change)
        XCTAssertNotEqual(s.metricBefore, s.metricAfter)   // the switch changes the function
        // The epoch's own metric covers all 300 samples: close to the estimate, not equal to it.
        XCTAssertNotEqual(summary.history[0].testMetric, s.metricBefore)
    }

    func testCheckpointRoundTripsThroughSafetensors() throws {
        let trainer = try Trainer(config: try smallRegression(epochs: 2), communicator: SingleProcessCommunicator())
        let summary = try trainer.run()
        let c = trainer.checkpoint(epoch: 2, globalStep: 8, history: summary.history, levelSeconds: summary.levelSeconds)
        let file = try c.file(slots: trainer.model.slots, stateSlots: trainer.model.stateSlots)
        let back = try TrainingCheckpoint.load(try SafeTensorsFile.parse(file.serialized()), source: "memory")
        // The history is not in the file (a resume rebuilds it from metrics.jsonl).
        var expected = c
        expected.history = []
        XCTAssertEqual(back, expected)
        XCTAssertNil(file.metadata["history"])

        var bytes = file.serialized()
        bytes[bytes.count - 3] ^= 0x40  // one bit of the last tensor
        XCTAssertThrowsError(try TrainingCheckpoint.load(try SafeTensorsFile.parse(bytes), source: "flipped")) { e in
            XCTAssertTrue("\(e)".contains("flipped is not a usable resnet-dist checkpoint"), "\(e)")
        }
    }

    func testResumedTrainerContinuesBitIdentically() throws {
        var losses: [Double] = []
        let full = try Trainer(config: try smallRegression(), communicator: SingleProcessCommunicator(),
                               hooks: TrainerHooks(step: { _, loss in losses.append(loss) }))
        let fullSummary = try full.run()

        // The state after 2 of the 6 epochs, by replaying those epochs' steps, as a checkpoint.
        let partial = try Trainer(config: try smallRegression(), communicator: SingleProcessCommunicator())
        let plan = GlobalBatchSharder(datasetSize: 256, globalBatchSize: 64, seed: 1)
        var step = 0
        var history: [EpochRecord] = []
        for epoch in 0..<2 {
            let e = plan.epoch(epoch)
            for s in 0..<plan.stepsPerEpoch {
                let shard = e.shard(step: s, rank: 0, worldSize: 1)
                _ = try partial.step.run(partial.model, indices: shard.indices, globalBatch: shard.globalBatchSize,
                                         epoch: epoch, learningRate: 0.005)
                step += 1
            }
            history.append(fullSummary.history[epoch])
        }
        let ckpt = partial.checkpoint(epoch: 2, globalStep: step, history: history, levelSeconds: [0])
        var resumedLosses: [Double] = []
        let resumed = try Trainer(config: try smallRegression(), communicator: SingleProcessCommunicator(), resume: ckpt,
                                  hooks: TrainerHooks(step: { _, loss in resumedLosses.append(loss) }))
        _ = try resumed.run()
        XCTAssertEqual(resumedLosses, Array(losses.suffix(resumedLosses.count)))
        XCTAssertEqual(resumedLosses.count, 16)
    }

    /// The cosine schedule restarts at each level and equals lr·(1 + cos(π·t/T))/2 over the
    /// level's T steps, to the bit (the formula the trainer used before the core's schedule).
    func testLevelScheduleLearningRateAndSwitches() throws {
        var c = try smallRegression(epochs: 6)
        c.schedule = .cosine
        c.switchEpochs = [2]
        var levels = LevelSchedule(config: c)
        let steps = 4
        for epoch in 0..<2 {
            for step in 0..<steps {
                let t = epoch * steps + step
                XCTAssertEqual(levels.learningRate(epoch: epoch, step: step, stepsPerEpoch: steps),
                               c.lr * (1 + cos(Double.pi * Double(t) / Double(2 * steps))) / 2)
            }
        }
        let comm = SingleProcessCommunicator()
        XCTAssertFalse(try levels.shouldSwitch(after: 0, trainLosses: [1], comm: comm))
        XCTAssertTrue(try levels.shouldSwitch(after: 1, trainLosses: [1, 1], comm: comm))
        levels.advance(startingAt: 2)
        XCTAssertEqual([levels.level, levels.levelStartEpoch], [1, 2])
        XCTAssertEqual(levels.switchEpochs, [2])
        XCTAssertFalse(try levels.shouldSwitch(after: 4, trainLosses: [1, 1, 1, 1, 1], comm: comm))  // no third level
        // The second level runs from epoch 2 to the end (epoch 6): 16 steps, restarting at lr.
        XCTAssertEqual(levels.learningRate(epoch: 2, step: 0, stepsPerEpoch: steps), c.lr)
        XCTAssertEqual(levels.learningRate(epoch: 4, step: 0, stepsPerEpoch: steps),
                       c.lr * (1 + cos(Double.pi * 8 / 16)) / 2)
        c.schedule = .constant
        XCTAssertEqual(LevelSchedule(config: c).learningRate(epoch: 1, step: 3, stepsPerEpoch: steps), c.lr)
    }

    /// With a level learning-rate factor f, level k's cycle starts from lr·fᵏ: the cosine over
    /// the level (or the constant rate) scaled by it, the first level untouched.
    func testLevelLearningRateFactorScalesEachLaterLevel() throws {
        var c = try smallRegression(epochs: 6)
        c.schedule = .cosine
        c.switchEpochs = [2, 4]
        c.levels = [2, 3, 5]
        c.levelLRFactor = 0.5
        let steps = 4
        var levels = LevelSchedule(config: c)
        XCTAssertEqual(levels.learningRate(epoch: 0, step: 0, stepsPerEpoch: steps), c.lr)
        XCTAssertEqual(levels.learningRate(epoch: 1, step: 0, stepsPerEpoch: steps), c.lr * (1 + cos(Double.pi * 4 / 8)) / 2)
        levels.advance(startingAt: 2)
        XCTAssertEqual(levels.learningRate(epoch: 2, step: 0, stepsPerEpoch: steps), c.lr / 2)
        XCTAssertEqual(levels.learningRate(epoch: 3, step: 2, stepsPerEpoch: steps), c.lr / 2 * (1 + cos(Double.pi * 6 / 8)) / 2,
                       accuracy: 1e-18)
        levels.advance(startingAt: 4)
        XCTAssertEqual(levels.learningRate(epoch: 4, step: 0, stepsPerEpoch: steps), c.lr / 4)
        c.schedule = .constant
        var constant = LevelSchedule(config: c)
        constant.advance(startingAt: 2)
        constant.advance(startingAt: 4)
        XCTAssertEqual(constant.learningRate(epoch: 5, step: 3, stepsPerEpoch: steps), c.lr / 4)
        // Factor 1 is the plain lr at every level, bit for bit.
        c.levelLRFactor = 1
        XCTAssertEqual(c.lr(atLevel: 2), c.lr)
    }
}
