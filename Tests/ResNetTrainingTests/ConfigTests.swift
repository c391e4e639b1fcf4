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

    /// An alias bomb: 7 levels of anchors, each aliasing the one before 9 times (9^7 ≈ 4.8 M
    /// nodes when composed; 6 levels took 10.8 s and 2.1 GB). Refused from the text at once.
    func testYAMLAnchorsAndAliasesAreRefusedBeforeComposing() throws {
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1...7 {
            let p = "*a\(level - 1)"
            bomb += "a\(level): &a\(level) [\(Array(repeating: p, count: 9).joined(separator: ", "))]\n"
        }
        bomb += "epochs: 3\n"
        let start = Date()
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: bomb, source: "bomb.yaml")) { error in
            XCTAssertEqual("\(error)", "cannot read config file bomb.yaml: line 1 uses the YAML anchor or alias '&a0'; config files may not use anchors (&name) or aliases (*name) — write the value out")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "epochs: 3\nlevels:\n  - *n\n", source: "t.yaml")) { error in
            XCTAssertTrue("\(error)".contains("line 3 uses the YAML anchor or alias '*n'"), "\(error)")
        }
        // Quoted text, comments and arithmetic-looking values are not anchors.
        let fine = try ExperimentConfig.parseOverrides(yaml: "data-dir: \"/d/&x\"  # see *notes\nepochs: 3\n", source: "t.yaml")
        XCTAssertEqual(fine.map(\.key), [.dataDir, .epochs])
    }

    func testDuplicatedYAMLKeyIsRefused() {
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "lr: 0.1\nepochs: 3\nlr: 0.2\n", source: "t.yaml")) { error in
            XCTAssertEqual("\(error)", "cannot read config file t.yaml: the key 'lr' appears more than once; keep one")
        }
    }

    func testUnknownNamesAreRejectedWithTheChoices() {
        XCTAssertThrowsError(try ExperimentConfig.builtIn(experiment: "mnist", variant: nil)) { e in
            XCTAssertTrue("\(e)".contains("regression, fashion, cifar"), "\(e)")
        }
        XCTAssertThrowsError(try ExperimentConfig.builtIn(experiment: "fashion", variant: "wide")) { e in
            XCTAssertTrue("\(e)".contains("shallow, deep, multilevel"), "\(e)")
        }
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
        for (k, v) in try ExperimentConfig.parseOverrides(yaml: "saved-activations: single\n", source: "t.yaml") {
            try c.apply([(k, v)], source: "t.yaml")
        }
        XCTAssertEqual(c.savedActivations, .single)
        var r = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        r.savedActivations = .single
        XCTAssertEqual(try Trainer(config: r, communicator: SingleProcessCommunicator()).model.execution.savedActivations,
                       .single)
        r.savedActivations = .half
        XCTAssertEqual(try Trainer(config: r, communicator: SingleProcessCommunicator()).model.execution.savedActivations,
                       .half)
    }

    func testYAMLOverridesApplyAndRejectUnknownKeysAndWrongTypes() throws {
        let o = try ExperimentConfig.parseOverrides(yaml: "epochs: 7\nlevels: [2, 3, 5]\nlr: 1e-3\nlocal-bn: true\nintegrator: euler,rk2\n", source: "t.yaml")
        var c = try ExperimentConfig.builtIn(experiment: "cifar", variant: "multilevel")
        for (k, v) in o { try c.apply([(k, v)], source: "t.yaml") }
        XCTAssertEqual(c.epochs, 7)
        XCTAssertEqual(c.levels, [2, 3, 5])
        XCTAssertEqual(c.lr, 0.001)
        XCTAssertTrue(c.localBN)
        XCTAssertEqual(c.integrators, [.euler, .midpoint])
        // Values are read by the key's type whatever their quoting; 7.0 is a whole number.
        try c.apply(try ExperimentConfig.parseOverrides(yaml: "epochs: '9'\nwidth: 7.0\ndata-dir: '123'\nswitch-epochs: '2,4'\n", source: "t.yaml"),
                    source: "t.yaml")
        XCTAssertEqual([c.epochs, c.width], [9, 7])
        XCTAssertEqual(c.dataDir, "123")
        XCTAssertEqual(c.switchEpochs, [2, 4])

        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "epoch: 3\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("t.yaml: unknown key 'epoch'"), "\(e)")
        }
        let wrong = try ExperimentConfig.parseOverrides(yaml: "epochs: three\n", source: "t.yaml")
        XCTAssertThrowsError(try c.apply([(wrong[0].key, wrong[0].value)], source: "t.yaml")) { e in
            XCTAssertEqual("\(e)", "t.yaml: key 'epochs' must be an integer")
        }
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "- 1\n- 2\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("expected a mapping"), "\(e)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "epochs: [1\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("not valid YAML"), "\(e)")
        }
    }

    func testNamedValuesDecodeToTheirTypesAndBadNamesListTheChoices() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        try c.apply(try ExperimentConfig.parseOverrides(
            yaml: "optimizer: sgd\nschedule: cosine\nswitch: plateau\nprolongation: double\nhead: pool\nblocks: 4\n", source: "t.yaml"),
            source: "t.yaml")
        XCTAssertEqual(c.optimizer, .sgd)
        XCTAssertEqual(c.schedule, .cosine)
        XCTAssertEqual(c.switchMode, .plateau)
        XCTAssertEqual(c.prolongation, .double)
        XCTAssertEqual(c.head, .pool)
        XCTAssertEqual(c.blocks, [4, 4])  // one number: every group
        try c.apply(flags: [(.channels, "8,16,32")], source: "command line")
        XCTAssertEqual(c.blocks, [4, 4, 4])  // the same count in every group follows the groups
        XCTAssertEqual(c.blocks(atLevel: 1), [8, 8, 8])
        for (key, text, choices) in [(ExperimentConfig.CodingKeys.optimizer, "adamw", "adam or sgd"),
                                     (.activation, "gelu", "sigmoid, relu or tanh"),
                                     (.integrators, "euler,rk3", "euler, midpoint, heun or rk4 (rk2 = midpoint)")] {
            XCTAssertThrowsError(try c.apply(flags: [(key, text)], source: "command line")) { e in
                XCTAssertEqual("\(e)", "invalid --\(key.rawValue): '\(text)' is not \(choices) (command line)")
            }
        }
    }

    /// Applying keys rewrites the whole config through YAML: every other value must come back
    /// to the bit, whatever its digits.
    func testApplyingKeysKeepsTheOtherValuesExactly() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
        c.lr = 1.0 / 3
        c.h = 0.1 + 0.2
        c.noise = 5e-324
        c.momentum = 0.9 - 1e-16
        c.minImprovement = .leastNormalMagnitude
        c.dataDir = "/data/a: b # c"
        let before = c
        try c.apply(flags: [(.epochs, "7")], source: "command line")
        XCTAssertEqual(c.epochs, 7)
        c.epochs = before.epochs
        XCTAssertEqual(c, before)
    }

    /// Checkpoints keep the config's JSON form keyed by property name, as before the keys became
    /// kebab-case (launch/pytorch_peer.py reads it so); both spellings read back.
    func testJSONFormKeepsPropertyNames() throws {
        let c = try ExperimentConfig.builtIn(experiment: "rk2-multilevel", variant: "rk2")
        let json = String(decoding: try ExperimentConfig.jsonEncoder().encode(c), as: UTF8.self)
        XCTAssertTrue(json.contains("\"switchMode\":\"schedule\""), json)
        XCTAssertTrue(json.contains("\"weightDecay\":0"), json)
        XCTAssertTrue(json.contains("\"integrators\":[\"euler\",\"midpoint\"]"), json)
        XCTAssertFalse(json.contains("batch-size"), json)
        XCTAssertEqual(try ExperimentConfig.decode(json, source: "json"), c)
        XCTAssertEqual(try ExperimentConfig.decode(try c.yaml(), source: "yaml"), c)
    }

    func testWrittenYAMLReadsBackToTheSameConfig() throws {
        for e in Experiment.all {
            for v in e.variants {
                let c = try XCTUnwrap(e.config(variant: v.name))
                var back = try ExperimentConfig.builtIn(experiment: e.name, variant: "shallow" == v.name ? v.name : e.defaultVariant)
                for (k, value) in try ExperimentConfig.parseOverrides(yaml: try c.yaml(), source: "x") {
                    try back.apply([(k, value)], source: "x")
                }
                XCTAssertEqual(back, c, "\(e.name)/\(v.name)")
            }
        }
    }

    /// Seeded fuzzing of the YAML config reader: every mutated document either parses into
    /// overrides or throws a ConfigError — no crash.
    func testFuzzedYAMLNeverCrashes() throws {
        let seedText = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel").yaml()
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let alphabet = Array(":-[]{}#&*!|>'\"%@` \n\t,?0123456789abcxyz.eE+".utf8)
        var parsed = 0, rejected = 0
        for _ in 0..<2000 {
            var bytes = Array(seedText.utf8)
            for _ in 0..<(1 + Int(next() % 6)) {
                let i = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[i] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: i)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
                for (k, v) in try ExperimentConfig.parseOverrides(yaml: text, source: "fuzz") { try c.apply([(k, v)], source: "fuzz") }
                parsed += 1
            } catch is ConfigError {
                rejected += 1
            }
        }
        print("YAML fuzz: \(parsed) parsed, \(rejected) rejected with a ConfigError")
        // Every input either parses or is refused with a ConfigError (anything else throws out of
        // the test); both outcomes must occur often.
        XCTAssertGreaterThan(parsed, 20)
        XCTAssertGreaterThan(rejected, 100)
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
        var d = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
        try d.apply(flags: [(key: .hRule, text: "keep")], source: "command line")
        XCTAssertEqual(d.hRule, .keep)
        XCTAssertThrowsError(try d.apply(flags: [(key: .hRule, text: "double")], source: "command line"))
    }

    // MARK: - What a person reads and writes

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
                var back = try ExperimentConfig.builtIn(experiment: e.name, variant: v.name)
                try back.apply(try ExperimentConfig.parseOverrides(yaml: try c.printableYAML(), source: "p"), source: "p")
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
