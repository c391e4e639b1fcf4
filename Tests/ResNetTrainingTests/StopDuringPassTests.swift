import Foundation
import XCTest
import ResNetData
import ResNetDistributed
@testable import ResNetTraining

/// A stop must not wait for a precise-BatchNorm pass, and `--precise-bn` is bounded.
final class StopDuringPassTests: XCTestCase {
    /// A small CNN on 128 synthetic 28×28 images: 4 steps per epoch, precise BN over all 4.
    func smallCNN() throws -> (ExperimentConfig, TrainingData) {
        var c = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        c.channels = [4, 8]
        c.blocks = [1, 1]
        c.batchSize = 32
        c.epochs = 2
        c.preciseBN = 4
        c.checkpointEvery = 0
        var rng = SystemRandomNumberGenerator()
        func images(_ n: Int) -> ImageDataset {
            ImageDataset(images: (0..<(n * 784)).map { _ in UInt8.random(in: 0...255, using: &rng) },
                         labels: (0..<n).map { UInt8($0 % 10) }, channels: 1, height: 28, width: 28)
        }
        let data = TrainingData(source: .images(train: images(128), test: images(32), augment: false), seed: 1)
        return (c, data)
    }

    /// The stop arrives after the last step of epoch 1, during its precise-BN pass: the ranks stop
    /// there (before, the pass and the evaluation ran to the end and training stopped one step
    /// into epoch 2), and the checkpoint of the epoch's end resumes to the uninterrupted run's
    /// losses and metrics, bit for bit.
    func testStopDuringPreciseBNStopsThereAndResumesExactly() throws {
        let (config, data) = try smallCNN()
        var fullLosses: [Double] = []
        let full = try Trainer(config: config, communicator: SingleProcessCommunicator(), data: data,
                               hooks: TrainerHooks(step: { _, loss in fullLosses.append(loss) }))
        let fullSummary = try full.run()

        let directory = NSTemporaryDirectory() + "stop-precise-bn-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var reads = 0
        // Read once before the first step, once after each of the 4 steps, then once per batch
        // of the pass: the 6th read is the pass's first.
        let stopped = try Trainer(config: config, communicator: SingleProcessCommunicator(), data: data,
                                  output: try RunOutput(directory: directory),
                                  hooks: TrainerHooks(stopRequest: { reads += 1; return reads >= 6 ? SIGTERM : nil }))
        var checkpoint: String?
        XCTAssertThrowsError(try stopped.run()) { error in
            guard case let TrainingError.stopped(signal, epoch, step, steps, path, _) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([Int(signal), epoch, step, steps], [Int(SIGTERM), 0, 3, 4])
            checkpoint = path
        }
        XCTAssertEqual(reads, 6)
        let resumePoint = try TrainingCheckpoint.read(path: try XCTUnwrap(checkpoint))
        XCTAssertEqual(resumePoint.stepInEpoch, 4)
        var resumedLosses: [Double] = []
        let resumed = try Trainer(config: config, communicator: SingleProcessCommunicator(), data: data, resume: resumePoint,
                                  hooks: TrainerHooks(step: { _, loss in resumedLosses.append(loss) }))
        let summary = try resumed.run()
        XCTAssertEqual(resumedLosses, Array(fullLosses.suffix(4)))
        XCTAssertEqual(summary.history.map(\.testMetric), fullSummary.history.map(\.testMetric))
        XCTAssertEqual(summary.history.map(\.learningRate), fullSummary.history.map(\.learningRate))
        XCTAssertEqual(summary.finalTrainLoss, fullSummary.finalTrainLoss)
    }

    func testPreciseBNBeyondOneEpochIsRefused() throws {
        var (config, data) = try smallCNN()
        config.preciseBN = 1_099_511_627_776
        XCTAssertThrowsError(try Trainer(config: config, communicator: SingleProcessCommunicator(), data: data)) { error in
            XCTAssertEqual("\(error)", "invalid --precise-bn: 1099511627776 batches is more than the 4 batches of an epoch (which it would repeat); use at most 4")
        }
    }
}
