import Foundation
import XCTest
import ResNetCore
import ResNetDistributed
@testable import ResNetTraining

/// Files written before the configuration became typed (Tests/fixtures/pre-typed-config, see its
/// README) still load, and the run resumes from its checkpoint to the same losses as it had then.
final class OldFilesTests: XCTestCase {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../fixtures/pre-typed-config").standardized.path

    func path(_ name: String) -> String { fixture + "/" + name }

    func testOldConfigYAMLLoads() throws {
        let text = try String(contentsOfFile: path("config.yaml"), encoding: .utf8)
        let c = try ExperimentConfig.decode(text, source: "config.yaml")
        XCTAssertNoThrow(try c.validate())
        XCTAssertEqual(c.dataset, .regressionF1)
        XCTAssertEqual(c.model, .mlp)
        XCTAssertEqual(c.integrators, [.euler, .midpoint])  // written as euler, rk2
        XCTAssertEqual(c.schedule, .cosine)
        XCTAssertEqual(c.switchMode, .schedule)
        XCTAssertEqual(c.inputScaling, .standard)
        XCTAssertEqual(c.initialization, .pytorch)
        XCTAssertEqual(c.preset, .fit)
        XCTAssertEqual(c.savedActivations, .half)   // absent from the old file: how it trained
        XCTAssertEqual([c.width, c.batchSize, c.epochs, c.trainPoints, c.testPoints], [4, 20, 3, 60, 30])
        XCTAssertEqual(c.lr, 0.005)
        XCTAssertEqual(c.noise, 0.002)

        // The same file as a --config file, over the built-in defaults, gives the same config.
        let applied = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
            .merging(ConfigOverrides(yamlFile: path("config.yaml")))
        XCTAssertEqual(applied, c)
    }

    func testOldCheckpointLoadsAndResumesToTheSameLosses() throws {
        let ckpt = try TrainingCheckpoint.read(path: path("checkpoint-epoch-0001.safetensors"))
        let yaml = try ExperimentConfig.decode(try String(contentsOfFile: path("config.yaml"), encoding: .utf8), source: "config.yaml")
        XCTAssertEqual(ckpt.config, yaml)
        XCTAssertEqual([ckpt.epoch, ckpt.globalStep, ckpt.level], [1, 3, 1])
        XCTAssertEqual(ckpt.spec.blocks, [3])
        XCTAssertEqual(ckpt.spec.integrator, .midpoint)

        var c = ckpt
        let metrics = try String(contentsOfFile: path("metrics.jsonl"), encoding: .utf8)
        c.history = try TrainingCheckpoint.history(fromMetrics: metrics, upTo: ckpt.epoch, source: "metrics.jsonl")
        XCTAssertEqual(c.history.map(\.testMetricName), [.errorNorm])
        var losses: [Double] = []
        let trainer = try Trainer(config: ckpt.config, communicator: SingleProcessCommunicator(), resume: c,
                                  hooks: TrainerHooks(step: { _, loss in losses.append(loss) }))
        _ = try trainer.run()
        // steps.txt: "step N loss X" with 10 significant digits, written by the old binary. The
        // same to 1e-6 relative: exp's fused multiply–adds (since 2026-12-07) move the sigmoid by
        // about an ulp and these losses in the 8th digit (at most 1.0e-7 relative); a checkpoint
        // loaded wrongly (weights, Adam state, data order or schedule) moves them by orders more.
        let old = try String(contentsOfFile: path("steps.txt"), encoding: .utf8)
            .split(separator: "\n").map { Double($0.split(separator: " ")[3])! }
        XCTAssertEqual(losses.count, 6)
        for (loss, then) in zip(losses, old.suffix(6)) {
            XCTAssertEqual(loss, then, accuracy: 1e-6 * abs(then), "resumed loss \(loss), the old binary's \(then)")
        }
    }
}
