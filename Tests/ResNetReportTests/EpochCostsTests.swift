import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// Training time counted per kind of epoch over the runs at hand (`EpochCosts`): equal work is
/// equal time, and stalls from other jobs fall out while a tenth of a kind's epochs ran undisturbed.
final class EpochCostsTests: XCTestCase {
    /// Deep: 10 epochs at 3 blocks, 10 s each. Multi-level: 5 epochs at 2 blocks (6 s), then 5 at
    /// 3 blocks (10 s) — of which four were stretched by another job to 50 s.
    func stalledPair() -> (deep: RunSummary, ml: RunSummary) {
        let deep = syntheticRun(variant: "deep", levels: [(3, 1, "euler")], seconds: [100], peakMB: 1)
        var ml = syntheticRun(variant: "multilevel", levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [5],
                              seconds: [30, 50], peakMB: 1)
        for i in 6..<10 { ml.history[i].take(50) }
        return (deep, ml)
    }

    func testAStalledLevelIsCountedAtTheLowerDecileOfAllEpochsOfItsWork() {
        let (deep, ml) = stalledPair()
        // Alone, four of its five 3-block epochs stalled: their median (50 s) would count
        // 30 + 5 × 50 = 280 s; the lower decile (the least of five, 10 s) counts 30 + 50 = 80 s.
        XCTAssertEqual(ml.robustTrainingSeconds, 80, accuracy: 1e-9)
        var allStalled = ml
        allStalled.history[5].take(50)
        XCTAssertEqual(allStalled.robustTrainingSeconds, 280, accuracy: 1e-9)   // nothing undisturbed to go by
        // Pooled with deep's ten epochs of 3 blocks (15 epochs, the 2nd least 10 s): 30 + 50 = 80 s
        // even when all five stalled.
        XCTAssertEqual(EpochCosts([deep, allStalled]).trainingSeconds(allStalled), 80, accuracy: 1e-9)
        let costs = EpochCosts([deep, ml])
        XCTAssertEqual(costs.trainingSeconds(ml), 80, accuracy: 1e-9)
        XCTAssertEqual(costs.levelSeconds(ml), [30, 50])
        XCTAssertEqual(costs.trainingSeconds(deep), 100, accuracy: 1e-9)
        XCTAssertEqual(costs.saving(ml, versus: deep), 0.2, accuracy: 1e-12)
        XCTAssertEqual(ml.timeSaving(versus: deep), 0.2, accuracy: 1e-12)
        // Every report of the pair counts the same: the seed table, the per-run tables, the chart.
        let table = SeedTable(variants: SeededVariant.group([deep, ml]), target: 0.95)
        let column = table.header.firstIndex(of: "training steps (s)")!
        XCTAssertEqual(table.rows[1][column], SeedTable.seconds(80))
        XCTAssertTrue(ReportTable.comparison([deep, ml]).contains("| 80.00 |"), ReportTable.comparison([deep, ml]))
        XCTAssertEqual(RunReport.timeChart([deep, ml]).series[1].points.last?.x ?? 0, 80, accuracy: 1e-9)
        // Time to target: accuracy (0.6 + 0.03 per epoch) passes 0.865 after epoch 9: 5 × 6 s + 4 × 10 s.
        XCTAssertEqual(costs.timeToTarget(ml, target: 0.865) ?? 0, 70, accuracy: 1e-9)
    }

    func testEpochsOfOtherWorkAreNotPooled() {
        let (deep, ml) = stalledPair()
        // The same network on a tenth of the data: another kind of epoch, counted at its own times.
        var small = deep
        small.runDirectory = "small"
        for i in small.history.indices {
            small.history[i].samplesPerSecond /= 10
            small.history[i].epochSeconds = 1
        }
        var otherRanks = deep
        otherRanks.runDirectory = "np4"
        otherRanks.ranks = 4
        for i in otherRanks.history.indices { otherRanks.history[i].take(3) }
        let costs = EpochCosts([deep, ml, small, otherRanks])
        XCTAssertEqual(costs.trainingSeconds(small), 10, accuracy: 1e-9)
        XCTAssertEqual(costs.trainingSeconds(otherRanks), 30, accuracy: 1e-9)
        XCTAssertEqual(costs.trainingSeconds(ml), 80, accuracy: 1e-9)
        // The same work on another machine is another kind of epoch.
        var elsewhere = deep
        elsewhere.runDirectory = "other-machine"
        elsewhere.machine = "AMD EPYC, avx512, 2 cores"
        for i in elsewhere.history.indices { elsewhere.history[i].take(4) }
        let two = EpochCosts([deep, ml, elsewhere])
        XCTAssertEqual(two.trainingSeconds(elsewhere), 40, accuracy: 1e-9)
        XCTAssertEqual(two.trainingSeconds(ml), 80, accuracy: 1e-9)
        // A run outside the pool counts its measured epochs.
        var outside = deep
        outside.runDirectory = "elsewhere"
        XCTAssertEqual(EpochCosts([ml]).trainingSeconds(outside), 100, accuracy: 1e-9)
    }

    func testEpochsOfUnknownSizeArePooledOnlyWithinTheirLevel() {
        let (deep, ml) = stalledPair()
        var old = ml
        old.history[5].take(50)   // every one of its 3-block epochs stalled
        old.runDirectory = "from-csv"
        for i in old.history.indices { old.history[i].samplesPerSecond = 0 }   // as metrics.csv reads back
        let costs = EpochCosts([deep, old])
        XCTAssertEqual(costs.trainingSeconds(old), 280, accuracy: 1e-9)
        XCTAssertEqual(costs.trainingSeconds(deep), 100, accuracy: 1e-9)
    }
}
