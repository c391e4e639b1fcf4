import Foundation
import XCTest
import ResNetCore
import ResNetDistributed
import ResNetSafeTensors
@testable import ResNetTraining

/// Checkpoints signed over their header, history rebuilt from metrics.jsonl, checkpoint pruning,
/// sizes computed before allocating, and config files and keys that must be named in errors.
final class CheckpointLimitsTests: XCTestCase {
    func smallRun(epochs: Int = 3) throws -> (Trainer, RunSummary) {
        var c = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        c.subset = 128
        c.batchSize = 64
        c.epochs = epochs
        let trainer = try Trainer(config: c, communicator: SingleProcessCommunicator())
        return (trainer, try trainer.run())
    }

    func testChecksumWithMetadataChangesWhenAnyValueChanges() throws {
        var file = SafeTensorsFile(tensors: [SafeTensor(name: "w", shape: [2], floats: [1, 2])], metadata: ["epoch": "2", "level": "1"])
        file.storeChecksum(includingMetadata: true)
        XCTAssertNoThrow(try file.verifyChecksum(includingMetadata: true))
        for (key, value) in [("epoch", "9"), ("level", "0"), ("added", "x")] {
            var edited = file
            edited.metadata[key] = value
            XCTAssertThrowsError(try edited.verifyChecksum(includingMetadata: true), "\(key)=\(value) went unnoticed")
        }
        // The tensor-only checksum (the first checkpoint format) does not see the metadata.
        XCTAssertNotEqual(file.checksum(), file.checksumWithMetadata())
    }

    func testEditedHeaderIsCorruptAndResignedImpossiblePositionsAreRefused() throws {
        let (trainer, summary) = try smallRun()
        let c = trainer.checkpoint(epoch: 2, globalStep: 4, history: Array(summary.history.prefix(2)), levelSeconds: [0])
        let file = try c.file(slots: trainer.model.slots, stateSlots: trainer.model.stateSlots)
        XCTAssertNil(file.metadata["history"])
        for (key, value, message) in [("epoch", "9", "its epoch 9 is outside 0...3"), ("level", "9", "its level 9 is outside 1...1"),
                                      ("level", "0", "its level 0 is outside 1...1")] {
            var edited = file
            edited.metadata[key] = value
            XCTAssertThrowsError(try TrainingCheckpoint.load(edited, source: "edited")) {
                XCTAssertTrue("\($0)".contains("checksum mismatch"), "\($0)")
            }
            edited.storeChecksum(includingMetadata: true)
            XCTAssertThrowsError(try TrainingCheckpoint.load(edited, source: "resigned")) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
    }

    func testFirstFormatWithHistoryStillLoads() throws {
        let (trainer, summary) = try smallRun()
        let c = trainer.checkpoint(epoch: 3, globalStep: 6, history: summary.history, levelSeconds: summary.levelSeconds)
        var file = try c.file(slots: trainer.model.slots, stateSlots: trainer.model.stateSlots)
        file.metadata["format"] = TrainingCheckpoint.formatWithHistory
        file.metadata["history"] = String(decoding: try JSONEncoder().encode(summary.history), as: UTF8.self)
        file.storeChecksum()  // the first format signed the tensors only
        let back = try TrainingCheckpoint.load(file, source: "old")
        XCTAssertEqual(back.history, summary.history)
        XCTAssertEqual(back.epoch, 3)
    }

    func testHistoryIsRebuiltFromMetricsLines() throws {
        let (_, summary) = try smallRun()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try summary.history.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let text = lines.joined(separator: "\n") + "\n"
        XCTAssertEqual(try TrainingCheckpoint.history(fromMetrics: text, upTo: 2, source: "m"), Array(summary.history.prefix(2)))
        XCTAssertEqual(try TrainingCheckpoint.history(fromMetrics: text, upTo: 3, source: "m"), summary.history)
        XCTAssertThrowsError(try TrainingCheckpoint.history(fromMetrics: lines[0] + "\n", upTo: 2, source: "m")) {
            XCTAssertTrue("\($0)".contains("holds 1 epoch records but the checkpoint is after epoch 2"), "\($0)")
        }
        XCTAssertThrowsError(try TrainingCheckpoint.history(fromMetrics: lines[1] + "\n" + lines[0], upTo: 2, source: "m")) {
            XCTAssertTrue("\($0)".contains("line 1 is epoch 2, expected 1"), "\($0)")
        }
    }

    func testPruningKeepsTheNewestAndTheSwitchesAndRemovesStaleTemporaryFiles() throws {
        let dir = NSTemporaryDirectory() + "prune-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let output = try RunOutput(directory: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var names = (1...8).map { TrainingCheckpoint.fileName(epoch: $0) } + [TrainingCheckpoint.fileName(epoch: 8, step: 3)]
        names += [".checkpoint-epoch-0009.safetensors.tmp-999999-1", ".checkpoint-epoch-0009.safetensors.tmp-\(getpid())-2", "metrics.jsonl"]
        // A run killed while writing its summary or history leaves these (issue 28 item 15).
        names += [".summary.json.tmp-999999-3", ".metrics.jsonl.tmp-999999-4", ".config.yaml.tmp-999999-5", ".notes.tmp-999999-6"]
        for n in names { FileManager.default.createFile(atPath: output.path(n), contents: Data()) }
        output.pruneCheckpoints(keep: 3, protecting: [3])
        output.removeStaleTemporaryFiles()
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        // Newest first: epoch 8 + 3 steps, epoch 8, epoch 7; and the switch at epoch 3.
        XCTAssertEqual(left, [TrainingCheckpoint.fileName(epoch: 3), TrainingCheckpoint.fileName(epoch: 7), TrainingCheckpoint.fileName(epoch: 8),
                              TrainingCheckpoint.fileName(epoch: 8, step: 3), ".checkpoint-epoch-0009.safetensors.tmp-\(getpid())-2", "metrics.jsonl",
                              ".notes.tmp-999999-6"])
        output.pruneCheckpoints(keep: 0, protecting: [])  // 0 keeps all
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), left)
    }

    func testSizeEstimateMatchesTheBuiltModel() throws {
        let specs: [ModelSpec] = [
            .mlp(width: 32, blocks: 3), .mlp(inputs: 2, outputs: 3, width: 7, blocks: 2, integrator: .rk4),
            .fashionMNIST(blocks: [2, 3]), .fashionMNIST(blocks: [1, 2], integrator: .midpoint, inputLayer: false, head: .pool),
            .cifar10(blocks: [1, 1, 2], integrator: .heun),
        ]
        for spec in specs {
            let model = ResNetModel(spec: spec, seed: 1)
            let size = spec.sizeEstimate
            XCTAssertEqual(size.parameters, Double(model.parameterCount), "\(spec)")
            XCTAssertEqual(size.state, Double(model.state.count), "\(spec)")
        }
    }

    func testMemoryBudgetRefusesWhatTheMachineCannotHold() throws {
        var c = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        let huge = ModelSpec.mlp(width: 32, blocks: 1_000_000)
        XCTAssertThrowsError(try MemoryBudget.check(c, deepest: huge, ranks: 1, dataBytes: 0, machine: 16e9, environment: [:])) {
            XCTAssertTrue("\($0)".contains("needs about") && "\($0)".contains("but this machine has 16.0 GB"), "\($0)")
        }
        XCTAssertNoThrow(try MemoryBudget.check(c, deepest: .mlp(width: 32, blocks: 3), ranks: 1, dataBytes: 0, machine: 16e9, environment: [:]))
        // Ranks on one machine share it.
        c.batchSize = 4
        let medium = ModelSpec.mlp(width: 1000, blocks: 300)  // ≈ 6e8 parameters: 9.6 GB per rank
        XCTAssertNoThrow(try MemoryBudget.check(c, deepest: medium, ranks: 1, dataBytes: 0, machine: 16e9, environment: [:]))
        XCTAssertThrowsError(try MemoryBudget.check(c, deepest: medium, ranks: 2, dataBytes: 0, machine: 16e9,
                                                    environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"]))
    }

    func testEmptyConfigFileIsAnError() {
        for text in ["", "# only a comment\n", "\n\n"] {
            XCTAssertThrowsError(try ExperimentConfig.parseOverrides(yaml: text, source: "e.yaml")) {
                XCTAssertTrue("\($0)".contains("e.yaml: it holds no config keys"), "\($0)")
            }
        }
    }

    func testConfigFieldsNameEveryKeyTheSameWayWhateverTheValues() throws {
        let a = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        var b = a
        b.seed = 7
        b.savedActivations = .single
        XCTAssertEqual(a.fields.map(\.key), b.fields.map(\.key))
        let differing = zip(a.fields, b.fields).filter { $0.0.value != $0.1.value }.map(\.0.key)
        XCTAssertEqual(differing, ["seed", "saved-activations"])
        XCTAssertTrue(b.fields.contains { $0.key == "seed" && $0.value == "7" })
        var c = a
        c.lr = a.lr.nextUp  // differs in the last bit only
        XCTAssertEqual(zip(a.fields, c.fields).filter { $0.0.value != $0.1.value }.map(\.0.key), ["lr"])
    }
}
