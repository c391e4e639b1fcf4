import XCTest
import ResNetDistributed
import ResNetCore
@testable import ResNetTraining

/// A two-rank communicator in one process that records every collective: each rank's values are
/// its own (sums are identities); from the `skewFrom`-th max on (1-based), maxima are made to
/// differ from minima by `maxOffset`, as when another rank holds a larger value.
final class RecordingCommunicator: Communicator {
    var collectives: [String] = []
    var maxOffset: Int64 = 0
    var skewFrom = 1
    var rank: Int { 0 }
    var size: Int { 2 }
    var processorName: String { "test" }

    func barrier() throws { collectives.append("barrier") }
    func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Float>) throws { collectives.append("sum") }
    func allreduceSum(agreedLength buffer: UnsafeMutableBufferPointer<Double>) throws { collectives.append("sum") }
    func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int64>) throws { collectives.append("min") }
    func allreduceMax(_ buffer: UnsafeMutableBufferPointer<Int64>) throws {
        collectives.append("max")
        guard collectives.filter({ $0 == "max" }).count >= skewFrom else { return }
        for i in buffer.indices { buffer[i] += maxOffset }
    }
    func startAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        collectives.append("sum")
        return Done()
    }
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws { collectives.append("broadcast") }
    func gather(record: [UInt8], root: Int) throws -> [[UInt8]]? {
        collectives.append("gather")
        return [record, record]
    }
    func abort(code: Int32) -> Never { fatalError("abort \(code)") }

    final class Done: PendingReduction { func wait() throws {} }
}

final class SynchronisedBatchNormTests: XCTestCase {
    /// After the check made once with the reducer, a training step makes exactly one collective
    /// per BatchNorm call: one in forward and one in backward for each BatchNorm layer.
    func testOneCollectivePerCallAfterOneCheck() throws {
        let model = ResNetModel(spec: .fashionMNIST(blocks: [2, 2]), seed: 3)
        let comm = RecordingCommunicator()
        model.batchNormReducer = try CommunicatorReducer(comm, model: model)
        XCTAssertFalse(comm.collectives.contains("sum"), "the setup checks lengths, it sums nothing")
        XCTAssertGreaterThan(comm.collectives.count, 0)
        comm.collectives = []

        let layers = model.stateSlots.filter { $0.name.hasSuffix("running_mean") }.count
        XCTAssertGreaterThan(layers, 0)
        var rng = SplitMix64(seed: 4)
        let x = Tensor(shape: [4, 1, 28, 28], data: (0..<(4 * 28 * 28)).map { _ in rng.nextUniform(bound: 1) })
        let y = try model.forward(x, training: true)
        XCTAssertEqual(comm.collectives, Array(repeating: "sum", count: layers), "forward")
        comm.collectives = []
        try model.backward(Tensor(shape: y.shape, data: [Float](repeating: 0.01, count: y.count)))
        XCTAssertEqual(comm.collectives, Array(repeating: "sum", count: layers), "backward")
    }

    /// Ranks whose models have different BatchNorm layers are refused when the reducer is made.
    func testRanksWithDifferentBatchNormLayersAreRefused() {
        let comm = RecordingCommunicator()
        comm.maxOffset = 1
        comm.skewFrom = 2   // the item count agrees (first max), the layout hash does not
        let model = ResNetModel(spec: .fashionMNIST(blocks: [1, 1]), seed: 3)
        XCTAssertThrowsError(try CommunicatorReducer(comm, model: model)) { error in
            guard case CommunicatorError.disagreement(let what, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(what.contains("BatchNorm"), what)
        }
    }

    /// The checked sum still checks: two collectives for the lengths, one for the values.
    func testCheckedSumChecksLengthsEveryCall() throws {
        let comm = RecordingCommunicator()
        var values: [Double] = [1, 2]
        try comm.allreduceSum(&values)
        XCTAssertEqual(comm.collectives, ["min", "max", "sum"])
        comm.maxOffset = 1
        XCTAssertThrowsError(try comm.allreduceSum(&values)) { error in
            guard case CommunicatorError.lengthMismatch = error else { return XCTFail("\(error)") }
        }
    }
}
