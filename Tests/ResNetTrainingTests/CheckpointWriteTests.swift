import Foundation
import XCTest
import ResNetDistributed
import ResNetSafeTensors
@testable import ResNetTraining

/// A checkpoint is written straight from the model's and optimizer's buffers: the tensors lent
/// to the writer are those buffers (no copy), and the file is the one `file(...)` describes.
final class CheckpointWriteTests: XCTestCase {
    func testCheckpointIsWrittenFromTheBuffersThemselves() throws {
        var config = try ExperimentConfig.builtIn(experiment: "regression", variant: "deep")
        config.subset = 128
        config.batchSize = 64
        config.epochs = 2
        let trainer = try Trainer(config: config, communicator: SingleProcessCommunicator())
        let summary = try trainer.run()
        let c = trainer.checkpoint(epoch: 2, globalStep: 4, history: summary.history, levelSeconds: summary.levelSeconds)
        let slots = trainer.model.slots, stateSlots = trainer.model.stateSlots

        // Every tensor's bytes lie in the checkpoint's own buffers (Adam: parameters, m, v).
        let (tensors, metadata) = try c.contents(slots: slots, stateSlots: stateSlots)
        XCTAssertEqual(tensors.count, 3 * slots.count + stateSlots.count)
        func base(_ values: [Float]) -> UnsafeRawPointer { values.withUnsafeBytes { $0.baseAddress! } }
        for (i, slot) in slots.enumerated() {
            for (k, buffer) in [c.parameters, c.moments[0], c.moments[1]].enumerated() {
                let t = tensors[k == 0 ? i : stateSlots.count + k * slots.count + i]
                XCTAssertEqual(t.withBytes { $0.baseAddress }, base(buffer) + 4 * slot.offset, t.name)
                XCTAssertEqual(t.byteCount, 4 * slot.count)
            }
        }

        // The file on disk: the bytes of the in-memory file, checksum included, and it loads.
        let dir = NSTemporaryDirectory() + "resnet-dist-ckpt-write-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/checkpoint-epoch-0002.safetensors"
        try c.write(to: path, slots: slots, stateSlots: stateSlots)
        let file = try c.file(slots: slots, stateSlots: stateSlots)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), file.serialized())
        XCTAssertNoThrow(try file.verifyChecksum(includingMetadata: true))
        var expected = c
        expected.history = []
        XCTAssertEqual(try TrainingCheckpoint.read(path: path), expected)
    }
}
