import XCTest
@testable import ResNetCore

/// Precise BatchNorm (`ResNetModel.reestimateBatchNormStatistics`): the running statistics are
/// forgotten and become the plain average of the batches' statistics, whatever they held before.
final class PreciseBatchNormTests: XCTestCase {
    let spec = ModelSpec(kind: .cnn, inputShape: [1, 8, 8], outputs: 10, widths: [3, 4], blocks: [1, 2],
                         h: 0.5, integrator: .midpoint, inputLayer: true, head: .flatten)
    let batches = (0..<3).map { randomTensor([6, 1, 8, 8], seed: 40 + UInt64($0)) }

    /// Fills the state with values no average of batch statistics can give (and NaN).
    func spoil(_ model: ResNetModel) {
        for i in model.state.indices { model.state[i] = i % 3 == 0 ? .nan : 1e3 + Float(i) }
    }

    func relativeDifference(_ a: Float, _ b: Double) -> Double {
        abs(Double(a) - b) / max(1, abs(b))
    }

    /// The input layer's BatchNorm sees conv(x): its batch mean and unbiased variance per channel,
    /// computed here with a naive convolution in Double, averaged over the batches.
    func testInputLayerStatisticsEqualTheAverageOfNaiveBatchStatistics() throws {
        let model = ResNetModel(spec: spec, seed: 5)
        spoil(model)
        try model.reestimateBatchNormStatistics(batches: batches.count) { k in
            _ = try model.forward(batches[k], training: true)
        }
        let w = model.parameter(named: "stem.conv.weight")!   // [3, 1, 3, 3]
        let channels = 3, size = 8
        var meanSum = [Double](repeating: 0, count: channels), varianceSum = meanSum
        for x in batches {
            let n = x.shape[0]
            for c in 0..<channels {
                var values: [Double] = []
                for s in 0..<n {
                    for i in 0..<size {
                        for j in 0..<size {
                            var v = 0.0
                            for di in -1...1 {
                                for dj in -1...1 where (0..<size).contains(i + di) && (0..<size).contains(j + dj) {
                                    v += Double(w[c * 9 + (di + 1) * 3 + dj + 1]) * Double(x.data[s * 64 + (i + di) * size + j + dj])
                                }
                            }
                            values.append(v)
                        }
                    }
                }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
                meanSum[c] += mean
                varianceSum[c] += variance
            }
        }
        let runningMean = model.stateSlot(named: "stem.bn.running_mean")!.range
        let runningVariance = model.stateSlot(named: "stem.bn.running_var")!.range
        var worst = 0.0
        for c in 0..<channels {
            worst = max(worst, relativeDifference(model.state[runningMean.lowerBound + c], meanSum[c] / Double(batches.count)))
            worst = max(worst, relativeDifference(model.state[runningVariance.lowerBound + c], varianceSum[c] / Double(batches.count)))
        }
        print("precise BN, input layer: max relative difference from the naive average \(worst)")
        XCTAssertLessThan(worst, 1e-6)
    }

    /// Every BatchNorm (each Runge–Kutta stage its own) ends at the average of the statistics
    /// each batch alone gives (momentum 1), and the outcome does not depend on the old state.
    func testEveryLayerAveragesTheBatchesStatisticsWhateverTheStateHeld() throws {
        let reference = ResNetModel(spec: spec, seed: 5)
        var sums = [Double](repeating: 0, count: reference.state.count)
        reference.statisticsMomentum = 1
        for x in batches {
            _ = try reference.forward(x, training: true)
            for i in sums.indices { sums[i] += Double(reference.state[i]) }
        }
        let expected = sums.map { $0 / Double(batches.count) }

        let model = ResNetModel(spec: spec, seed: 5)
        spoil(model)
        try model.reestimateBatchNormStatistics(batches: batches.count) { k in
            _ = try model.forward(batches[k], training: true)
        }
        let worst = zip(model.state, expected).map { relativeDifference($0, $1) }.max()!
        print("precise BN, all \(model.stateSlots.count) state slots: max relative difference \(worst)")
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertNil(model.statisticsMomentum, "training after re-estimation uses BatchNorm's own momentum again")
        // Not the old behaviour (K momentum-0.1 updates on top of the old values).
        XCTAssertFalse(model.state.contains { $0.isNaN })
    }
}
