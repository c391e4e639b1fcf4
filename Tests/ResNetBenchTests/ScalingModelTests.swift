import Foundation
import XCTest
import ResNetCore
@testable import ResNetBench

/// The scaling model against its closed forms, and the collectives it prices against the model's
/// BatchNorm layers.
final class ScalingModelTests: XCTestCase {
    let net = ScalingModel.Interconnect(name: "test", latency: 1e-5, bandwidth: 1e9)

    func testAllreduceTakesTheCheaperOfRingAndRecursiveDoubling() {
        XCTAssertEqual(ScalingModel.allreduceSeconds(bytes: 1e6, ranks: 1, on: net), 0)
        // 4 MB over 8 ranks: ring 2·7·1e-5 + 2·7/8·4e6/1e9 = 1.4e-4 + 7e-3; doubling 3·(1e-5 + 4e-3).
        XCTAssertEqual(ScalingModel.allreduceSeconds(bytes: 4e6, ranks: 8, on: net), 1.4e-4 + 7e-3, accuracy: 1e-12)
        // 80 bytes over 8 ranks: doubling 3·(1e-5 + 8e-8), under the ring's 1.4e-4.
        XCTAssertEqual(ScalingModel.allreduceSeconds(bytes: 80, ranks: 8, on: net), 3 * (1e-5 + 8e-8), accuracy: 1e-15)
        // A rank count that is not a power of two rounds the doubling steps up: 5 ranks, 3 steps.
        XCTAssertEqual(ScalingModel.allreduceSeconds(bytes: 0, ranks: 5, on: net), 3e-5, accuracy: 1e-15)
    }

    func testPredictionAddsComputeAndCollectives() {
        // Compute affine in the batch: 10 ms + 1 ms per image, measured at 1024, 256 and 16.
        let points = [1024, 256, 16].map { ScalingModel.ComputePoint(perRankBatch: $0, seconds: 0.01 + 0.001 * Double($0)) }
        let m = ScalingModel(network: "t", globalBatch: 1024, compute: points, gradientFloats: 250_000, batchNormSums: [9, 8])
        XCTAssertEqual(m.computeSeconds(perRankBatch: 64), 0.074, accuracy: 1e-12)   // between 16 and 256
        XCTAssertEqual(m.computeSeconds(perRankBatch: 4), 0.014, accuracy: 1e-12)    // below 16, extended
        let p = m.predict(ranks: 16, on: net)
        XCTAssertEqual(p.perRankBatch, 64)
        let gradient = ScalingModel.allreduceSeconds(bytes: 1e6, ranks: 16, on: net)
        let bn = ScalingModel.allreduceSeconds(bytes: 72, ranks: 16, on: net) + ScalingModel.allreduceSeconds(bytes: 64, ranks: 16, on: net)
        XCTAssertEqual(p.gradientAllreduce, gradient, accuracy: 1e-15)
        XCTAssertEqual(p.batchNorm, bn, accuracy: 1e-15)
        XCTAssertEqual(p.step, 0.074 + gradient + bn, accuracy: 1e-12)
        XCTAssertEqual(p.efficiency, 1.034 / p.step / 16, accuracy: 1e-9)
        XCTAssertEqual(p.imagesPerSecond, 1024 / p.step, accuracy: 1e-6)
        XCTAssertEqual(m.predict(ranks: 16, on: net, localBatchNorm: true).batchNorm, 0)
        XCTAssertEqual(m.predict(ranks: 1, on: net).efficiency, 1, accuracy: 1e-12)
        // The knee: communication (≈ 1.6 ms + the BatchNorm sums) passes compute (10 ms + batch ms) past 256 ranks here.
        let knee = m.knee(on: net, ranks: ScalingModel.ranks)
        let first = ScalingModel.ranks.first { m.predict(ranks: $0, on: net).communication > m.predict(ranks: $0, on: net).compute }
        XCTAssertEqual(knee.communicationBound, first)
        // On a slow network (1 ms, 100 MB/s): at 16 ranks 44 ms (gradient, recursive doubling
        // 4·(1 ms + 10 ms)) + 8 ms (BatchNorm) against 74 ms of compute; at 32 ranks 55 + 10 ms
        // against 42 ms.
        let slow = ScalingModel.Interconnect(name: "slow", latency: 1e-3, bandwidth: 1e8)
        XCTAssertEqual(m.knee(on: slow, ranks: ScalingModel.ranks).communicationBound, 32)
    }

    /// Allreduce rows name their transport; the model is priced on each measured transport at its
    /// largest rank count, beside the cluster defaults. Rows from before the label read as this machine's.
    func testMeasuredTransportsAreEachPricedOnce() throws {
        var r = BenchReport()
        let points = [1024, 16].map { ScalingModel.ComputePoint(perRankBatch: $0, seconds: 0.01 + 0.001 * Double($0)) }
        r.scalingModel = ScalingModel(network: "t", globalBatch: 1024, compute: points, gradientFloats: 250_000, batchNormSums: [9])
        r.collectives = [
            .init(ranks: 2, smallSeconds: 1e-6, gradientFloats: 250_000, gradientSeconds: 1e-3, latency: 1e-6, bandwidth: 4e9),
            .init(ranks: 4, smallSeconds: 3e-6, gradientFloats: 250_000, gradientSeconds: 2e-3, latency: 1.5e-6, bandwidth: 3e9),
            .init(ranks: 2, smallSeconds: 2e-5, gradientFloats: 250_000, gradientSeconds: 5e-3, latency: 2e-5, bandwidth: 1e9,
                  transport: "TCP between network-namespace hosts"),
        ]
        let text = r.markdown(targets: false)
        XCTAssertTrue(text.contains("| this machine | 4 | 3.0 | 2.000 (250000) | 1.5 | 3.00 |"), text)
        XCTAssertTrue(text.contains("| TCP between network-namespace hosts | 2 | 20.0 |"), text)
        XCTAssertTrue(text.contains("this machine, np 4 (measured: 1.5 µs, 3.00 GB/s)"), text)
        XCTAssertFalse(text.contains("this machine, np 2 (measured"), text)
        XCTAssertTrue(text.contains("TCP between network-namespace hosts, np 2 (measured: 20.0 µs, 1.00 GB/s)"), text)
        let old = #"{"collectives": [{"ranks": 2, "smallSeconds": 1e-6, "gradientFloats": 10, "gradientSeconds": 1e-3, "latency": 1e-6, "bandwidth": 4e9}]}"#
        XCTAssertEqual(try JSONDecoder().decode(BenchReport.self, from: Data(old.utf8)).collectives.first?.transportName, "this machine")
    }

    /// Each BatchNorm layer sums 2C + 1 doubles in forward (Σx, Σx², the count) and 2C in
    /// backward (Σdz, Σdz·x̂).
    func testCountedCollectivesMatchTheBatchNormLayers() throws {
        let spec = ModelSpec(kind: .cnn, inputShape: [1, 6, 6], outputs: 3, widths: [3, 4], blocks: [1, 2],
                             h: 0.5, integrator: .euler, activation: .sigmoid)
        let model = ResNetModel(spec: spec, seed: 1)
        let counts = try BenchSections.batchNormCollectives(model)
        // The BatchNorm layers by their running means in the model's state (8 here: each group's
        // projection and two per block).
        let channels = model.stateSlots.filter { $0.name.hasSuffix("running_mean") }.map(\.count)
        XCTAssertEqual(channels.count, 8)
        XCTAssertEqual(counts.sorted(), (channels.map { 2 * $0 + 1 } + channels.map { 2 * $0 }).sorted())
        XCTAssertNil(model.batchNormReducer)
    }
}
