import XCTest
@testable import ResNetTraining
import ResNetCore
import ResNetDistributed

/// What a person reads and writes: the printed config, key suggestions, training advice.
final class ConfigPrintTests: XCTestCase {
    func testPrintedConfigHasPlainNumbersAndOnlyTheModelsKeys() throws {
        let reg = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel").printableYAML()
        let lines = Set(reg.split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains("lr: 0.005"), reg)
        XCTAssertTrue(lines.contains("h: 1"), reg)
        XCTAssertTrue(lines.contains("blocks: [2]"), reg)
        XCTAssertTrue(lines.contains("noise: 0.002"), reg)
        XCTAssertFalse(reg.contains("channels:") || reg.contains("head:") || reg.contains("momentum:"), reg)
        XCTAssertFalse(reg.contains("patience:"), "plateau keys under a schedule: \(reg)")
        XCTAssertFalse(reg.contains("e-0") || reg.contains("e+0"), reg)

        let cnn = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
        let text = try cnn.printableYAML()
        for key in ["noise", "train-points", "test-points", "width", "input-scaling"] {
            XCTAssertFalse(text.contains("\n\(key):"), "\(key) in a CNN's config: \(text)")
        }
        XCTAssertTrue(text.contains("\nchannels: [16, 32]\n"), text)
        XCTAssertTrue(text.contains("\ndata-dir: ''\n"), text)
    }

    func testPrintedConfigReadsBackToTheSameConfig() throws {
        for e in Experiment.all {
            for v in e.variants {
                var c = try XCTUnwrap(e.config(variant: v.name))
                c.lr = 0.0003
                let back = try ExperimentConfig.builtIn(experiment: e.name, variant: v.name)
                    .merging(ConfigOverrides(yaml: try c.printableYAML(), source: "p"))
                XCTAssertEqual(back, c, "\(e.name)/\(v.name)")
            }
        }
    }

    func testUnknownKeySuggestsTheNearestInsteadOfListingAll() {
        func message(_ yaml: String) -> String {
            do { _ = try ExperimentConfig.parseOverrides(yaml: yaml, source: "t.yaml"); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("batchsize: 12\n"), "t.yaml: unknown key 'batchsize'; did you mean 'batch-size'?")
        XCTAssertEqual(message("weightDecay: 0.1\n"), "t.yaml: unknown key 'weightDecay'; did you mean 'weight-decay'?")
        XCTAssertEqual(message("optimizer-state: reset\n"), "t.yaml: unknown key 'optimizer-state'; did you mean 'optimizer-state-on-switch'?")
        XCTAssertEqual(message("colour: blue\n"), "t.yaml: unknown key 'colour'; `resnet-dist train --print-config` writes every key of an experiment")
    }

    func testTooFewStepsToLearnAreSaidWithTheFlagsToChange() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
        c.epochs = 2
        c.batchSize = 1024
        // --subset 4096 at batch 1024: 4 steps per epoch.
        XCTAssertEqual(TrainingAdvice.warnings(c, stepsPerEpoch: 4),
                       ["only 8 training steps (4 per epoch × 2 epochs) — too few to learn much; for at least 200 use --epochs 50 or --batch-size 32 (128 steps per epoch)"])
        c.epochs = 50
        XCTAssertEqual(TrainingAdvice.warnings(c, stepsPerEpoch: 4), [])
        let regression = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        XCTAssertEqual(TrainingAdvice.warnings(regression, stepsPerEpoch: 7), [])
    }
}
