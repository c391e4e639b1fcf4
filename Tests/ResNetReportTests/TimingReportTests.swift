import Foundation
import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// The "saving vs deep" figure, as each report prints it.
final class TimeSavingTests: XCTestCase {
    func testSavingIsTheShareOfTheDeepRunsTimeInEveryReport() {
        let runs = comparedRuns()                       // shallow 60 s, deep 100 s, multilevel 80 s
        XCTAssertEqual(runs[2].timeSaving(versus: runs[1]), 0.2, accuracy: 1e-12)
        XCTAssertEqual(runs[0].timeSaving(versus: runs[1]), 0.4, accuracy: 1e-12)
        let table = ReportTable.comparison(runs).split(separator: "\n").map(String.init)
        XCTAssertTrue(table[2].hasPrefix("| shallow |") && table[2].contains("| +40.0% |"), table[2])
        XCTAssertTrue(table[3].hasPrefix("| deep |") && table[3].contains("| – |"), table[3])
        XCTAssertTrue(table[4].hasPrefix("| multilevel |") && table[4].contains("| +20.0% |"), table[4])
        XCTAssertTrue(ReportTable.headline(runs)?.hasSuffix("— multilevel took 20 % less training-step time (1 seed)") ?? false, "\(String(describing: ReportTable.headline(runs)))")
        var slower = runs
        // Slower for its work (networks neither shallow nor deep has, so no epoch of theirs is pooled with it).
        slower[2] = syntheticRun(variant: "multilevel", levels: [(4, 1, "euler"), (5, 0.5, "euler")], switches: [5],
                                 seconds: [70, 55], peakMB: 118)
        XCTAssertTrue(ReportTable.headline(slower)?.hasSuffix("— multilevel took 25 % more training-step time (1 seed)") ?? false, "\(String(describing: ReportTable.headline(slower)))")
    }
}

/// The comparison shows the training steps and the test passes apart from the whole run's time.
final class EvaluationTimeTests: XCTestCase {
    func testComparisonShowsTrainingAndEvaluationSeparately() {
        var runs = comparedRuns()                       // 10 epochs each; deep 100 s of steps
        for i in runs[1].history.indices { runs[1].history[i].evalSeconds = 0.75 }
        runs[1].trainSeconds = 110
        let table = ReportTable.comparison(runs).split(separator: "\n").map(String.init)
        XCTAssertTrue(table[0].contains("| wall time (s) | training steps (s) | evaluation (s) |"), table[0])
        XCTAssertEqual(runs[1].stepSeconds, 100, accuracy: 1e-9)
        XCTAssertEqual(runs[1].evalSeconds ?? 0, 7.5, accuracy: 1e-12)
        XCTAssertTrue(table[3].contains("| 110.00 | 100.00 | 7.50 |"), table[3])
        // Runs that did not record their test passes show "–" there.
        XCTAssertNil(runs[0].evalSeconds)
        XCTAssertTrue(table[2].contains("| 60.00 | 60.00 | – |"), table[2])
    }

    func testSummariesWrittenBeforeEvaluationTimesStillDecode() throws {
        var run = syntheticRun(variant: "deep", epochs: 3, levels: [(3, 1, "euler")], seconds: [3], peakMB: 100)
        for i in run.history.indices { run.history[i].evalSeconds = 0.5 }
        let json = try JSONEncoder().encode(run)
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        var history = try XCTUnwrap(object["history"] as? [[String: Any]])
        XCTAssertEqual(history[0]["evalSeconds"] as? Double, 0.5)
        for i in history.indices { history[i].removeValue(forKey: "evalSeconds") }
        object["history"] = history
        let old = try JSONDecoder().decode(RunSummary.self, from: try JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.history.map(\.evalSeconds), [nil, nil, nil])
        XCTAssertNil(old.evalSeconds)
        XCTAssertEqual(old.history.map(\.epochSeconds), run.history.map(\.epochSeconds))
        XCTAssertEqual(try JSONDecoder().decode(RunSummary.self, from: json), run)
    }
}

/// The time-to-metric chart and the per-epoch CSV put each epoch at the wall time it ended.
final class TimeToMetricTests: XCTestCase {
    func testTimeChartPlotsTheMetricAgainstCumulativeSeconds() {
        var runs = comparedRuns()
        // The multi-level run's epochs were all stretched by another job: 12 s at 2 blocks, 20 s at 3.
        for i in runs[2].history.indices { runs[2].history[i].take(i < 5 ? 12 : 20) }
        let chart = RunReport.timeChart(runs)
        XCTAssertEqual(chart.series.count, 3)
        XCTAssertEqual(chart.series[0].points.map(\.x), (1...10).map { 6 * Double($0) })   // 60 s over 10 epochs
        XCTAssertEqual(chart.series[2].points.map(\.y), runs[2].history.map { 100 * $0.testMetric })
        XCTAssertTrue(RunReport.timeSVG(runs).contains("training-step seconds"))
        // Alone, each epoch counts at the lower decile of its level's epochs (here the least).
        let alone: [Double] = [12, 24, 36, 48, 60, 80, 100, 120, 140, 160]
        XCTAssertEqual(RunReport.timeChart([runs[2]]).series[0].points.map(\.x), alone)
        // Beside the others, at the lower decile of every epoch of the same work: its 2-block
        // epochs with shallow's ten of 6 s, its 3-block ones with deep's ten of 10 s (of 15, the
        // 2nd least) — the undisturbed runs give the cost of the stalled one.
        let pooled: [Double] = [6, 12, 18, 24, 30, 40, 50, 60, 70, 80]
        XCTAssertEqual(chart.series[2].points.map(\.x), pooled)
        runs[2].history[1].take(50)
        XCTAssertEqual(RunReport.timeChart([runs[2]]).series[0].points.map(\.x), alone)
        XCTAssertEqual(RunReport.timeChart(runs).series[2].points.map(\.x), pooled)
        // The target line sits at the experiment's default (90.5 % for Fashion-MNIST).
        XCTAssertEqual(RunReport.timeChart(runs).target?.y, 90.5)
        XCTAssertTrue(RunReport.timeSVG(runs, target: 0.8).contains("target 80.00 %"))
        // A long title is set smaller so that it stays inside the chart; a short one at 16.
        XCTAssertEqual(LineChart.titleSize("fashion: loss", room: 700), 16)
        let long = String(repeating: "x", count: 90)
        XCTAssertEqual(LineChart.titleSize(long, room: 700), 700 / (0.6 * 90), accuracy: 1e-12)
        XCTAssertEqual(LineChart.titleSize(String(repeating: "x", count: 400), room: 700), 10)
    }

    func testEpochsCSVHasOneRowPerEpochWithCumulativeWallSeconds() {
        var run = syntheticRun(variant: "multilevel", epochs: 3, levels: [(2, 1, "euler"), (3, 0.5, "midpoint")],
                               switches: [2], seconds: [2, 1], peakMB: 118.25)
        run.history[2].epochSeconds = 2.5
        let lines = run.epochsCSV.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "epoch,level,blocks,h,integrator,train_loss,test_metric,test_metric_name,epoch_seconds,wall_seconds,peak_rss_mb,eval_seconds")
        // No test-pass time recorded: an empty last cell.
        XCTAssertEqual(lines[3], "3,2,3 3,0.5,midpoint,\(2.0 * pow(0.7, 3.0)),\(0.6 + 0.3 * 3 / 3),test accuracy,2.500,4.500,118.2,")
    }

    func testEpochsCSVReadsBackIntoTheHistory() throws {
        let run = syntheticRun(variant: "multilevel", epochs: 4, levels: [(2, 1, "euler"), (3, 0.5, "midpoint")],
                               switches: [2], metric: "test error norm", seconds: [2, 2], peakMB: 118.25)
        let back = try EpochRecord.records(csv: run.epochsCSV, metric: .errorNorm, source: "metrics.csv")
        XCTAssertEqual(back.map(\.epoch), [1, 2, 3, 4])
        XCTAssertEqual(back.map(\.level), run.history.map(\.level))
        XCTAssertEqual(back.map(\.blocks), run.history.map(\.blocks))
        XCTAssertEqual(back.map(\.h), run.history.map(\.h))
        XCTAssertEqual(back.map(\.integrator), run.history.map(\.integrator))
        XCTAssertEqual(back.map(\.trainLoss), run.history.map(\.trainLoss))
        XCTAssertEqual(back.map(\.testMetric), run.history.map(\.testMetric))
        XCTAssertEqual(back.map(\.peakRSSBytes), [118_200_000, 118_200_000, 118_200_000, 118_200_000])
        // A file written by hand with the metric's own column name reads too; a bad number is named.
        let named = "epoch,level,blocks,h,integrator,train_loss,test_error_norm,epoch_seconds,wall_seconds,peak_rss_mb\n1,1,3,1,euler,0.25,17.8,0.5,0.5,43.8\n"
        XCTAssertEqual(try EpochRecord.records(csv: named, metric: .errorNorm, source: "f").first?.testMetric, 17.8)
        XCTAssertThrowsError(try EpochRecord.records(csv: named.replacingOccurrences(of: "17.8", with: "x"), metric: .errorNorm,
                                                     source: "f")) { error in
            XCTAssertTrue("\(error)".contains("row 2: 'x' in column test_error_norm is not a number"), "\(error)")
        }
    }

    func testEvaluationSecondsRoundTripThroughTheCSV() throws {
        var run = syntheticRun(variant: "deep", epochs: 2, levels: [(3, 1, "euler")], seconds: [2], peakMB: 100)
        run.history[0].evalSeconds = 0.25
        run.history[1].evalSeconds = 0.5
        XCTAssertTrue(run.epochsCSV.split(separator: "\n")[2].hasSuffix(",100.0,0.500"), run.epochsCSV)
        let back = try EpochRecord.records(csv: run.epochsCSV, metric: .accuracy, source: "metrics.csv")
        XCTAssertEqual(back.map(\.evalSeconds), [0.25, 0.5])
        // A file without the column (written before it) reads with the time unknown.
        let old = "epoch,level,blocks,h,integrator,train_loss,test_metric,epoch_seconds,wall_seconds,peak_rss_mb\n1,1,3,1,euler,0.25,0.8,0.5,0.5,43.8\n"
        XCTAssertEqual(try EpochRecord.records(csv: old, metric: .accuracy, source: "f").map(\.evalSeconds), [nil])
    }

    func testLongCurvesKeepEachPixelColumnsExtremes() {
        let chart = LineChart(id: "c", title: "t", xLabel: "x", yLabel: "y",
                              series: [PlotSeries(label: "s", points: (0..<8000).map { (Double($0), $0 == 4321 ? 9 : sin(Double($0))) },
                                                  color: "#000")])
        let xa = chart.xAxis, ya = chart.yAxis
        let d = chart.pathData(chart.series[0].points, xa: xa, ya: ya)
        let drawn = d.split(separator: " ").count
        XCTAssertLessThanOrEqual(drawn, 4 * Int(chart.width))   // at most four points per pixel column
        XCTAssertGreaterThan(drawn, Int(chart.width) / 2)
        XCTAssertTrue(d.contains(svgNumber(ya.position(9))), "the spike survives")
        XCTAssertTrue(d.hasSuffix("\(svgNumber(xa.position(7999))),\(svgNumber(ya.position(sin(7999))))"), "the last point is kept")
    }

    func testRobustTrainingTimeIgnoresAStalledEpoch() {
        var run = syntheticRun(variant: "multilevel", epochs: 6, levels: [(2, 1, "euler"), (3, 0.5, "euler")],
                               switches: [3], seconds: [3, 6], peakMB: 100)
        XCTAssertEqual(run.robustTrainingSeconds, 9, accuracy: 1e-12)   // 3 × 1 s + 3 × 2 s
        run.history[4].take(40)                                           // another job stalled one epoch
        XCTAssertEqual(run.robustTrainingSeconds, 9, accuracy: 1e-12)
        run.history[3].take(3)                                            // lower deciles of (3, 40, 2) and (1, 1, 1)
        XCTAssertEqual(run.robustTrainingSeconds, 3 + 3 * 2, accuracy: 1e-12)
        for i in 3..<6 { run.history[i].take(5) }                         // every 3-block epoch stalled
        XCTAssertEqual(run.robustTrainingSeconds, 3 + 3 * 5, accuracy: 1e-12)
        run.history = []
        XCTAssertEqual(run.robustTrainingSeconds, run.trainSeconds)
    }
}
