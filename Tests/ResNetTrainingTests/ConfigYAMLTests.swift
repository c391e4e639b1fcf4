import XCTest
@testable import ResNetTraining
import ResNetCore
import ResNetDistributed

/// Reading configs: YAML keys and values, their errors, and the JSON form.
final class ConfigYAMLTests: XCTestCase {
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

    func testYAMLOverridesApplyAndRejectUnknownKeysAndWrongTypes() throws {
        let o = try ConfigOverrides(yaml: "epochs: 7\nlevels: [2, 3, 5]\nlr: 1e-3\nlocal-bn: true\nintegrator: euler,rk2\n", source: "t.yaml")
        XCTAssertEqual(o.givenKeys, [.levels, .integrators, .epochs, .lr, .localBN])
        var c = try ExperimentConfig.builtIn(experiment: "cifar", variant: "multilevel").merging(o)
        XCTAssertEqual(c.epochs, 7)
        XCTAssertEqual(c.levels, [2, 3, 5])
        XCTAssertEqual(c.lr, 0.001)
        XCTAssertTrue(c.localBN)
        XCTAssertEqual(c.integrators, [.euler, .midpoint])
        // Values are read by the key's type whatever their quoting; 7.0 is a whole number.
        c = c.merging(try ConfigOverrides(yaml: "epochs: '9'\nwidth: 7.0\ndata-dir: '123'\nswitch-epochs: '2,4'\n", source: "t.yaml"))
        XCTAssertEqual([c.epochs, c.width], [9, 7])
        XCTAssertEqual(c.dataDir, "123")
        XCTAssertEqual(c.switchEpochs, [2, 4])

        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "epoch: 3\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("t.yaml: unknown key 'epoch'"), "\(e)")
        }
        for (text, expected) in [("epochs: three\n", "an integer"), ("epochs:\n", "an integer"), ("epochs: 2.5\n", "an integer"),
                                 ("lr: fast\n", "a number"), ("local-bn: 1\n", "true or false"), ("data-dir: [a]\n", "a string"),
                                 ("blocks: [2, x]\n", "a list of integers such as 2,3,5")] {
            XCTAssertThrowsError(try ConfigOverrides(yaml: text, source: "t.yaml"), text) { e in
                XCTAssertEqual("\(e)", "t.yaml: key '\(text.prefix { $0 != ":" })' must be \(expected)")
            }
        }
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "- 1\n- 2\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("expected a mapping"), "\(e)")
        }
        XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: "epochs: [1\n", source: "t.yaml")) { e in
            XCTAssertTrue("\(e)".contains("not valid YAML"), "\(e)")
        }
    }

    func testNamedValuesDecodeToTheirTypesAndBadNamesListTheChoices() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep").merging(ConfigOverrides(
            yaml: "optimizer: sgd\nschedule: cosine\nswitch: plateau\nprolongation: double\nhead: pool\nblocks: 4\n", source: "t.yaml"))
        XCTAssertEqual(c.optimizer, .sgd)
        XCTAssertEqual(c.schedule, .cosine)
        XCTAssertEqual(c.switchMode, .plateau)
        XCTAssertEqual(c.prolongation, .double)
        XCTAssertEqual(c.head, .pool)
        XCTAssertEqual(c.blocks, [4, 4])  // one number: every group
        var flags = ConfigOverrides()
        try flags.set(.channels, text: "8,16,32", source: "command line")
        c = c.merging(flags)
        XCTAssertEqual(c.blocks, [4, 4, 4])  // the same count in every group follows the groups
        XCTAssertEqual(c.blocks(atLevel: 1), [8, 8, 8])
        for (key, text, choices) in [(ExperimentConfig.CodingKeys.optimizer, "adamw", "adam or sgd"),
                                     (.activation, "gelu", "sigmoid, relu or tanh"),
                                     (.integrators, "euler,rk3", "euler, midpoint, heun or rk4 (rk2 = midpoint)")] {
            XCTAssertThrowsError(try flags.set(key, text: text, source: "command line")) { e in
                XCTAssertEqual("\(e)", "invalid --\(key.rawValue): '\(text)' is not \(choices) (command line)")
            }
        }
        XCTAssertThrowsError(try flags.set(.blocks, text: "2,x", source: "command line")) { e in
            XCTAssertEqual("\(e)", "invalid --blocks: '2,x' is not a list of integers such as 2,3,5 (command line)")
        }
    }

    /// Merging keys leaves every other value as it was, and the config's JSON form (checkpoints)
    /// and printed form (`--print-config`) read back to the bit, whatever the digits.
    func testMergingKeysKeepsTheOtherValuesExactly() throws {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
        c.lr = 1.0 / 3
        c.h = 0.1 + 0.2
        c.noise = 5e-324
        c.momentum = 0.9 - 1e-16
        c.minImprovement = .leastNormalMagnitude
        c.dataDir = "/data/a: b # c"
        let before = c
        var seven = ConfigOverrides()
        seven.epochs = 7
        c = c.merging(seven)
        XCTAssertEqual(c.epochs, 7)
        c.epochs = before.epochs
        XCTAssertEqual(c, before)
        let json = String(decoding: try ExperimentConfig.jsonEncoder().encode(c), as: UTF8.self)
        XCTAssertEqual(try ExperimentConfig.decode(json, source: "json"), c)
        XCTAssertEqual(before.merging(try ConfigOverrides(yaml: try c.printableYAML(), source: "printed")), c)
        XCTAssertEqual(try ExperimentConfig.decode(try c.yaml(), source: "config.yaml"), c)
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
                let back = try ExperimentConfig.builtIn(experiment: e.name, variant: "shallow" == v.name ? v.name : e.defaultVariant)
                    .merging(ConfigOverrides(yaml: try c.yaml(), source: "x"))
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
                _ = try ExperimentConfig.builtIn(experiment: "fashion", variant: "multilevel")
                    .merging(ConfigOverrides(yaml: text, source: "fuzz"))
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
}
