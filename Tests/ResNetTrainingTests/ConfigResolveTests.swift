import XCTest
@testable import ResNetTraining

/// Resolving a run's config: built-in experiment and variant, then a config file's keys, then
/// the flags' (`ExperimentConfig.resolve`).
final class ConfigResolveTests: XCTestCase {
    func overrides(_ yaml: String) throws -> ConfigOverrides { try ConfigOverrides(yaml: yaml, source: "t.yaml") }

    func testFlagsOverTheFileOverTheBuiltIn() throws {
        var flags = ConfigOverrides()
        flags.epochs = 9
        flags.variant = "deep"
        let c = try ExperimentConfig.resolve(file: overrides("experiment: fashion\nepochs: 7\nlr: 0.01\n"), flags: flags)
        XCTAssertEqual([c.experiment, c.variant], ["fashion", "deep"])
        XCTAssertEqual(c.epochs, 9)
        XCTAssertEqual(c.lr, 0.01)
        XCTAssertEqual(c.blocks, [3, 3])
        // Nothing given: regression's default variant.
        let d = try ExperimentConfig.resolve(flags: ConfigOverrides())
        XCTAssertEqual(d, try ExperimentConfig.builtIn(experiment: "regression", variant: nil))
        // The experiment and preset may come from the file.
        let t = try ExperimentConfig.resolve(file: overrides("experiment: regression\npreset: thesis\n"), flags: ConfigOverrides())
        XCTAssertEqual([t.preset.rawValue, String(t.epochs)], ["thesis", "50"])
        var unknown = ConfigOverrides()
        unknown.experiment = "mnist"
        XCTAssertThrowsError(try ExperimentConfig.resolve(flags: unknown)) { e in
            XCTAssertTrue("\(e)".hasPrefix("unknown experiment 'mnist'; choose one of"), "\(e)")
        }
        // A near miss is named (one letter off, or the start of a name), a far one is not.
        unknown.experiment = "fashon"
        XCTAssertThrowsError(try ExperimentConfig.resolve(flags: unknown)) { e in
            XCTAssertTrue("\(e)".hasPrefix("unknown experiment 'fashon'; did you mean 'fashion'? choose one of"), "\(e)")
        }
        var variant = ConfigOverrides()
        variant.experiment = "fashion"
        variant.variant = "multilevl"
        XCTAssertThrowsError(try ExperimentConfig.resolve(flags: variant)) { e in
            XCTAssertEqual("\(e)", "experiment 'fashion' has no variant 'multilevl'; did you mean 'multilevel'? choose one of shallow, deep, multilevel")
        }
    }

    /// A file written for one variant (the whole printed config of fashion-fast's multilevel)
    /// trains the deep variant's own network when deep is asked for; a key the file changes
    /// still applies.
    func testAFileRestatingItsVariantGivesWayToTheVariantAskedFor() throws {
        var written = try XCTUnwrap(Experiment.named("fashion-fast")?.config(variant: "multilevel"))
        written.lr = 0.002
        let file = try overrides(try written.printableYAML())
        var flags = ConfigOverrides()
        flags.variant = "deep"
        let deep = try ExperimentConfig.resolve(file: file, flags: flags)
        var expected = try ExperimentConfig.builtIn(experiment: "fashion-fast", variant: "deep")
        expected.lr = 0.002
        XCTAssertEqual(deep, expected)
        XCTAssertEqual(try ExperimentConfig.resolve(file: file, flags: ConfigOverrides()), written)
    }

    /// In a comparison the level schedule belongs to the multi-level variants.
    func testComparingKeepsTheBaselinesSingleLevel() throws {
        var flags = ConfigOverrides()
        flags.experiment = "fashion"
        flags.variant = "deep"
        flags.epochs = 10
        flags.switchEpochs = [3]
        let deep = try ExperimentConfig.resolve(flags: flags, comparing: true)
        XCTAssertEqual(deep.switchEpochs, [])
        XCTAssertEqual(deep.levelCount, 1)
        flags.variant = "multilevel"
        XCTAssertEqual(try ExperimentConfig.resolve(flags: flags, comparing: true).switchEpochs, [3])
    }

    /// Another run length keeps the built-in switches at the same fractions, unless switch
    /// epochs are given (by the flags or the file).
    func testSwitchesScaleWithTheRunLengthUnlessGiven() throws {
        var flags = ConfigOverrides()
        flags.experiment = "fashion-fast"
        flags.epochs = 10
        XCTAssertEqual(try ExperimentConfig.resolve(flags: flags).switchEpochs, [5, 8])
        XCTAssertEqual(try ExperimentConfig.resolve(file: overrides("switch-epochs: 4,7\n"), flags: flags).switchEpochs, [4, 7])
        flags.epochs = 1
        XCTAssertEqual(try ExperimentConfig.resolve(flags: flags).switchEpochs, [])
    }

    /// One block count applies to every group; counts the same in every group follow the groups.
    func testBlockCountsFollowTheGroups() throws {
        let fashion = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        XCTAssertEqual(fashion.merging(try overrides("blocks: 4\n")).blocks, [4, 4])
        XCTAssertEqual(fashion.merging(try overrides("channels: 8,16,32\n")).blocks, [3, 3, 3])
        XCTAssertEqual(fashion.merging(try overrides("blocks: 2\nchannels: [8, 16, 32]\n")).blocks, [2, 2, 2])
        // A count per group is taken as given (and validation names a mismatch).
        let mismatch = fashion.merging(try overrides("blocks: 2,2,2\n"))
        XCTAssertEqual(mismatch.blocks, [2, 2, 2])
        XCTAssertThrowsError(try mismatch.validate())
        let mlp = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        XCTAssertEqual(mlp.merging(try overrides("blocks: 4\n")).blocks, [4])
    }

    /// A whole config needs every key but those added later.
    func testACompleteConfigNeedsEveryKey() throws {
        let c = try ExperimentConfig.builtIn(experiment: "cifar", variant: "multilevel")
        let all = try overrides(try c.yaml())
        XCTAssertEqual(try ExperimentConfig(complete: all, source: "x"), c)
        XCTAssertThrowsError(try ExperimentConfig(complete: all.removing([.lr]), source: "x.yaml")) { e in
            XCTAssertEqual("\(e)", "cannot read config file x.yaml: it has no key 'lr'")
        }
        XCTAssertEqual(try ExperimentConfig(complete: all.removing([.augment]), source: "x").augment, true)
    }
}
