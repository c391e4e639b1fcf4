import XCTest
@testable import ResNetReport
import ResNetTraining

/// The time chart marks each level switch where it falls in training time, once per variant.
final class TimeChartMarkerTests: XCTestCase {
    func testSwitchMarkerSitsAtTheEndOfTheOldLevelsTime() {
        // Multilevel: 5 epochs of 30 s in all (6 s each), then 5 of 50 s: the switch after epoch 5 is at 30 s.
        let runs = comparedRuns()
        let chart = RunReport.timeChart(runs)
        XCTAssertEqual(chart.markers.map(\.x), [30])
        XCTAssertEqual(chart.markers.first?.label, "→ 3,3 blocks, h 1/2")
        XCTAssertEqual(chart.markers.first?.label, RunReport.switchMarkers(runs).first?.label)
    }

    func testSeedsOfOneVariantShareOneSetOfMarkers() {
        var first = syntheticRun(variant: "multilevel", levels: [(1, 1, "euler"), (2, 0.5, "euler"), (3, 0.25, "euler")],
                                 switches: [4, 7], seconds: [8, 12, 30], peakMB: 100)
        first.seed = 1
        var second = first
        second.seed = 2
        let deep = syntheticRun(variant: "deep", levels: [(3, 1, "euler")], seconds: [100], peakMB: 120)
        let chart = RunReport.timeChart([deep, first, second])
        // Level 1: 4 epochs of 2 s; level 2: 3 epochs of 4 s → switches at 8 s and 20 s.
        XCTAssertEqual(chart.markers.map(\.x), [8, 20])
        XCTAssertEqual(chart.markers.map(\.label), ["→ 2,2 blocks, h 1/2", "→ 3,3 blocks, h 1/4"])
    }
}
