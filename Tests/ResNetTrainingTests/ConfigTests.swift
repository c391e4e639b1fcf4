import XCTest
@testable import ResNetTraining
import ResNetCore
import ResNetDistributed

final class ConfigTests: XCTestCase {
    func testEveryBuiltInExperimentAndVariantValidates() throws {
        for e in Experiment.all {
            XCTAssertNotNil(e.config(variant: e.defaultVariant), e.name)
            for v in e.variants {
                let c = try XCTUnwrap(e.config(variant: v.name))
                XCTAssertNoThrow(try c.validate(), "\(e.name)/\(v.name)")
                XCTAssertEqual(c.variant, v.name)
            }
        }
    }

    func testThesisSchedulesAsRead() throws {
        let ml = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel", preset: .thesis)
        XCTAssertEqual(ml.blocks(atLevel: 0), [2])
        XCTAssertEqual(ml.blocks(atLevel: 1), [3])
        XCTAssertEqual(ml.h(atLevel: 1), 0.5)
        XCTAssertEqual(ml.switchEpochs, [25])
        XCTAssertEqual([ml.epochs, ml.batchSize], [50, 256])
        XCTAssertEqual(ml.lr, 0.005)
        XCTAssertEqual(ml.inputScaling, .raw)

        // The fit reading: standardised x, 1000 epochs, the switch still half-way.
        let fit = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
        XCTAssertEqual([fit.epochs, fit.batchSize], [1000, 256])
        XCTAssertEqual(fit.switchEpochs, [500])
        XCTAssertEqual(fit.inputScaling, .standard)
        XCTAssertEqual(fit.lr, 0.005)

        // §6.1: Euler and RK2 at the baseline's 2 blocks.
        let rk2 = try ExperimentConfig.builtIn(experiment: "rk2-regression", variant: "rk2")
        let euler = try ExperimentConfig.builtIn(experiment: "rk2-regression", variant: "deep")
        XCTAssertEqual([rk2.blocks, euler.blocks], [[2], [2]])
        XCTAssertEqual([rk2.integrators, euler.integrators], [[.midpoint], [.euler]])

        // §6.3 / Fig. 6.9: the baseline is the 5-block RK2 MLP; a 5-block Euler one beside it.
        let baseline = try ExperimentConfig.builtIn(experiment: "rk2-multilevel", variant: "deep")
        XCTAssertEqual(baseline.blocks, [5])
        XCTAssertEqual(baseline.integrators, [.midpoint])
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "rk2-multilevel", variant: "deep-euler").integrators, [.euler])

        // §5.2: an input layer and the flatten head; §5.3: no augmentation named, none by default.
        let fashion = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        XCTAssertEqual(fashion.inputLayer, true)
        XCTAssertEqual(fashion.head, .flatten)
        XCTAssertFalse(try ExperimentConfig.builtIn(experiment: "cifar", variant: "deep").augment)

        let cifar = try ExperimentConfig.builtIn(experiment: "cifar", variant: "multilevel")
        XCTAssertEqual((0..<3).map { cifar.blocks(atLevel: $0) }, [[2, 2, 2], [3, 3, 3], [5, 5, 5]])
        XCTAssertEqual((0..<3).map { cifar.h(atLevel: $0) }, [1, 0.5, 0.25])

        let rk2ml = try ExperimentConfig.builtIn(experiment: "rk2-multilevel", variant: "rk2")
        XCTAssertEqual((0..<3).map { rk2ml.integrator(atLevel: $0) }, [.euler, .midpoint, .midpoint])
        XCTAssertEqual(rk2ml.switchEpochs, [1000, 4000])
        XCTAssertEqual([rk2ml.epochs, rk2ml.batchSize], [8000, 512])

        var doubled = ml
        doubled.prolongation = .double
        XCTAssertEqual(doubled.blocks(atLevel: 1), [4])
    }

    func testValidationNamesTheFlag() throws {
        let base = try ExperimentConfig.builtIn(experiment: "regression", variant: "multilevel")
        let cases: [(String, (inout ExperimentConfig) -> Void)] = [
            ("--lr", { $0.lr = 0 }),
            ("--h", { $0.h = -1 }),
            ("--batch-size", { $0.batchSize = 0 }),
            ("--switch-epochs", { $0.switchEpochs = [$0.epochs] }),
            ("--switch-epochs", { $0.switchEpochs = [30, 20]; $0.levels = [2, 3, 5] }),
            ("--levels", { $0.levels = [2, 2] }),
            ("--integrator", { $0.integrators = [] }),
            ("--blocks", { $0.blocks = [2, 2] }),
        ]
        for (flag, change) in cases {
            var c = base
            change(&c)
            XCTAssertThrowsError(try c.validate(), flag) { e in
                XCTAssertTrue("\(e)".contains("invalid \(flag)"), "expected \(flag) in: \(e)")
            }
        }
    }

    /// The built-in image experiments keep saved activations in single precision; configs written
    /// before the key existed read as half (how they trained); the key reaches the layers.
    func testSavedActivationsDefaultAndReachTheLayers() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        XCTAssertEqual(c.savedActivations, .single)
        // A config written before the key existed (its JSON form without it) reads as half.
        var json = try JSONSerialization.jsonObject(with: try ExperimentConfig.jsonEncoder().encode(c)) as! [String: Any]
        json["savedActivations"] = nil
        let text = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        XCTAssertEqual(try ExperimentConfig.decode(text, source: "json").savedActivations, .half)
        c.savedActivations = .half
        c = c.merging(try ConfigOverrides(yaml: "saved-activations: single\n", source: "t.yaml"))
        XCTAssertEqual(c.savedActivations, .single)
        var r = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        r.savedActivations = .single
        XCTAssertEqual(try Trainer(config: r, communicator: SingleProcessCommunicator()).model.execution.savedActivations,
                       .single)
        r.savedActivations = .half
        XCTAssertEqual(try Trainer(config: r, communicator: SingleProcessCommunicator()).model.execution.savedActivations,
                       .half)
    }

    func testSwitchEpochsScaleWithTheRunLength() {
        XCTAssertEqual(ExperimentConfig.scaledSwitchEpochs([25], from: 50, to: 10), [5])
        XCTAssertEqual(ExperimentConfig.scaledSwitchEpochs([15, 30], from: 50, to: 10), [3, 6])
        XCTAssertEqual(ExperimentConfig.scaledSwitchEpochs([1000, 4000], from: 8000, to: 80), [10, 40])
        XCTAssertEqual(ExperimentConfig.scaledSwitchEpochs([15, 30], from: 50, to: 3), [1, 2])
    }

    func testPlateauRule() {
        XCTAssertFalse(LevelSchedule.plateaued([1.0, 0.9], patience: 2, minImprovement: 0.01))
        XCTAssertTrue(LevelSchedule.plateaued([1.0, 0.999, 0.998], patience: 2, minImprovement: 0.01))
        XCTAssertFalse(LevelSchedule.plateaued([1.0, 0.999, 0.98], patience: 2, minImprovement: 0.01))
    }

    func testStepRuleOfTheLaterLevels() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")   // 2 → 3 blocks
        XCTAssertEqual(c.hRule, .halve)
        XCTAssertEqual(c.h(atLevel: 1), 0.5)
        c.hRule = .depth
        XCTAssertEqual(c.h(atLevel: 1), 2.0 / 3.0, accuracy: 1e-15)   // 2 × 1 = 3 × 2/3
        c.blocks = [1, 1]
        c.levels = [1, 2, 3]
        c.switchEpochs = [10, 20]
        XCTAssertEqual(c.h(atLevel: 1), 0.5)
        XCTAssertEqual(c.h(atLevel: 2), 1.0 / 3.0, accuracy: 1e-15)
        c.hRule = .keep
        XCTAssertEqual(c.h(atLevel: 2), 1)
        c.hRule = .halve
        XCTAssertEqual(c.h(atLevel: 2), 0.25)
        // Written and read back by its key; the flag spells it the same way.
        c.hRule = .depth
        XCTAssertTrue(try c.yaml().contains("h-rule: depth"))
        XCTAssertEqual(try ExperimentConfig.decode(try c.yaml(), source: "test").hRule, .depth)
        var flags = ConfigOverrides()
        try flags.set(.hRule, text: "keep", source: "command line")
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel").merging(flags).hRule, .keep)
        XCTAssertThrowsError(try flags.set(.hRule, text: "double", source: "command line")) { e in
            XCTAssertEqual("\(e)", "invalid --h-rule: 'double' is not halve, depth or keep (command line)")
        }
    }

    func testLevelLearningRateFactor() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion-fast", variant: "multilevel")
        XCTAssertEqual(c.levelLRFactor, 1)
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "fashion-fast", variant: "multilevel-lr-half").levelLRFactor, 0.5)
        c.levelLRFactor = 0.25
        XCTAssertEqual(c.lr(atLevel: 0), 0.005)
        XCTAssertEqual(c.lr(atLevel: 2), 0.005 / 16, accuracy: 1e-18)
        XCTAssertTrue(try c.yaml().contains("level-lr-factor: 0.25"))
        XCTAssertEqual(try ExperimentConfig.decode(try c.yaml(), source: "test").levelLRFactor, 0.25)
        var flags = ConfigOverrides()
        try flags.set(.levelLRFactor, text: "0.5", source: "command line")
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel").merging(flags).levelLRFactor, 0.5)
        for bad in [0.0, -0.5, 1.5] {
            c.levelLRFactor = bad
            XCTAssertThrowsError(try c.validate()) { e in
                XCTAssertTrue("\(e)".contains("level-lr-factor") && "\(e)".contains("(0, 1]"), "\(e)")
            }
        }
    }
}
