import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ResNetReport
@testable import ResNetTraining

final class SVGPlotTests: XCTestCase {
    func testLogAxisMapsPowersOfTenEvenly() {
        let a = PlotAxis(scale: .log, lower: 0.01, upper: 1, pixelLower: 400, pixelUpper: 0)
        XCTAssertEqual(a.position(0.01), 400, accuracy: 1e-9)
        XCTAssertEqual(a.position(0.1), 200, accuracy: 1e-9)
        XCTAssertEqual(a.position(1), 0, accuracy: 1e-9)
        XCTAssertEqual(a.position(0.5), 400 - 400 * (log10(0.5) + 2) / 2, accuracy: 1e-9)
        XCTAssertFalse(a.accepts(0))
        XCTAssertFalse(a.accepts(-1))
    }

    func testFittedLogAxisEndsOnOneTwoFiveWithTicks() {
        let a = PlotAxis.fitting([0.03, 0.7], scale: .log, pixelLower: 400, pixelUpper: 0)
        XCTAssertEqual(a.lower, 0.02, accuracy: 1e-12)
        XCTAssertEqual(a.upper, 1, accuracy: 1e-12)
        let ticks = a.ticks()
        XCTAssertEqual(ticks.map(\.label), ["0.02", "0.05", "0.1", "0.2", "0.5", "1"])
        // Less than a decade of data still gets a whole decade, so there are labelled ticks.
        let narrow = PlotAxis.fitting([0.3, 0.4], scale: .log, pixelLower: 400, pixelUpper: 0)
        XCTAssertEqual(narrow.lower, 0.1, accuracy: 1e-12)
        XCTAssertEqual(narrow.upper, 1, accuracy: 1e-12)
        let wide = PlotAxis(scale: .log, lower: 1e-8, upper: 1, pixelLower: 0, pixelUpper: 1)
        XCTAssertEqual(wide.ticks().map(\.label), ["10⁻⁸", "10⁻⁶", "10⁻⁴", "0.01", "1"])
    }

    func testFittedLinearAxisIsRoundWithIntegerTicks() {
        let a = PlotAxis.fitting([1, 47], scale: .linear, pixelLower: 0, pixelUpper: 100, integer: true)
        XCTAssertEqual(a.lower, 0)
        XCTAssertEqual(a.upper, 50)
        XCTAssertEqual(a.ticks(integer: true).map(\.label), ["0", "10", "20", "30", "40", "50"])
        let small = PlotAxis.fitting([1, 3], scale: .linear, pixelLower: 0, pixelUpper: 100, integer: true)
        XCTAssertEqual(small.ticks(integer: true).map(\.value), [1, 2, 3])
        let frac = PlotAxis.fitting([-0.93, 0.98], scale: .linear, pixelLower: 0, pixelUpper: 100)
        XCTAssertEqual(frac.ticks().map(\.label), ["-1.0", "-0.5", "0.0", "0.5", "1.0"])
    }

    func testXMLEscape() {
        XCTAssertEqual(xmlEscape("a<b & \"c\" > 'd'"), "a&lt;b &amp; &quot;c&quot; &gt; &apos;d&apos;")
    }
}

final class RunReportTests: XCTestCase {
    func testLossSVGHasOneLogScaledPathPerVariant() throws {
        let runs = comparedRuns()
        let chart = RunReport.lossChart(runs)
        let svg = chart.render().render()
        let xml = XMLCollector.parse(svg)
        let paths = xml.all("path", cls: "series")
        XCTAssertEqual(paths.map { $0.attributes["data-label"] }, ["shallow", "deep", "multilevel"])
        let xa = chart.xAxis, ya = chart.yAxis
        XCTAssertEqual(ya.scale, .log)
        for (path, run) in zip(paths, runs) {
            let points = pathPoints(path.attributes["d"] ?? "")
            XCTAssertEqual(points.count, run.history.count)
            for (p, r) in zip(points, run.history) {
                XCTAssertEqual(p.0, xa.position(Double(r.epoch)), accuracy: 0.006)
                XCTAssertEqual(p.1, ya.position(r.trainLoss), accuracy: 0.006)
            }
        }
        // Loss 2·0.7^e for e in 1…10 lies in [0.056, 1.4]: the axis spans 0.05 … 2.
        XCTAssertEqual(ya.lower, 0.05, accuracy: 1e-12)
        XCTAssertEqual(ya.upper, 2, accuracy: 1e-12)
        XCTAssertTrue(xml.all("text", cls: "ylabel").first?.text.contains("log scale") ?? false)
        XCTAssertEqual(xml.all("text", cls: "xlabel").first?.text, "epoch")
        XCTAssertEqual(xml.all("text", cls: "legend").map(\.text), ["shallow", "deep", "multilevel", "level switch"])
    }

    func testSwitchMarkerSitsAtTheEndOfTheOldLevelsLastEpochAndNamesTheNewLevel() {
        let chart = RunReport.lossChart(comparedRuns())
        let xml = XMLCollector.parse(chart.render().render())
        let lines = xml.all("line", cls: "switch")
        XCTAssertEqual(lines.count, 1)
        // The switch comes after epoch 5: where epoch 5 ends, not half-way to epoch 6.
        let expected = chart.xAxis.position(5)
        XCTAssertEqual(Double(lines[0].attributes["x1"]!)!, expected, accuracy: 0.006)
        XCTAssertEqual(Double(lines[0].attributes["x2"]!)!, expected, accuracy: 0.006)
        XCTAssertEqual(lines[0].attributes["stroke-dasharray"], "6 4")
        XCTAssertEqual(xml.all("text", cls: "switch-label").map(\.text), ["→ 3,3 blocks, h 1/2"])
    }

    func testSameSwitchInTwoVariantsDrawsOneLineAndStacksDifferentLabels() {
        let ml = syntheticRun(variant: "multilevel", levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [5],
                              seconds: [1, 1], peakMB: 1)
        let rk = syntheticRun(variant: "rk2", levels: [(2, 1, "euler"), (3, 0.5, "rk2")], switches: [5],
                              seconds: [1, 1], peakMB: 1)
        let xml = XMLCollector.parse(RunReport.lossChart([ml, rk]).render().render())
        XCTAssertEqual(xml.all("line", cls: "switch").count, 1)
        XCTAssertEqual(xml.all("text", cls: "switch-label").map(\.text), ["→ 3,3 blocks, h 1/2", "→ 3,3 blocks, h 1/2, rk2"])
    }

    /// Switch labels that would run into each other go on separate rows; labels far apart share
    /// the first (fashion-fast's switches at 900 and 1 770 s of a 4 400 s chart overlapped).
    func testCloseSwitchLabelsStackAndDistantOnesShareARow() {
        var chart = LineChart(id: "t", title: "t", xLabel: "x", yLabel: "y",
                              series: [PlotSeries(label: "s", points: [(0, 0), (100, 1)], color: "#000")])
        chart.markers = [PlotMarker(x: 20, label: "→ 2,2 blocks, h 1/2", color: "#0a0"),
                         PlotMarker(x: 40, label: "→ 3,3 blocks, h 1/3", color: "#0a0"),
                         PlotMarker(x: 90, label: "→ 5,5", color: "#0a0")]
        // 572 px of plot for 100: the first label (18 characters, ≈ 123 px) reaches past x = 40
        // (114 px further), so the second goes one row down; x = 90 is clear of both.
        let xml = XMLCollector.parse(chart.render().render())
        let ys = xml.all("text", cls: "switch-label").map { Double($0.attributes["y"]!)! }
        XCTAssertEqual(ys.count, 3)
        XCTAssertEqual(ys[1] - ys[0], 14, accuracy: 1e-9)
        XCTAssertEqual(ys[2], ys[0], accuracy: 1e-9)
        XCTAssertEqual(xml.all("line", cls: "switch").count, 3)
    }

    func testNonPositiveLossBreaksTheLineOnALogAxis() {
        var run = comparedRuns()[0]
        run.history[4].trainLoss = 0
        let xml = XMLCollector.parse(RunReport.lossChart([run]).render().render())
        let d = xml.all("path", cls: "series")[0].attributes["d"]!
        XCTAssertEqual(d.filter { $0 == "M" }.count, 2)
        XCTAssertEqual(pathPoints(d).count, 9)
    }

    func testMetricSVGShowsAccuracyInPercentOrErrorNormOnLogScale() {
        let runs = comparedRuns()
        let chart = RunReport.metricChart(runs)
        let xml = XMLCollector.parse(chart.render().render())
        XCTAssertEqual(chart.yAxis.scale, .linear)
        XCTAssertEqual(xml.all("text", cls: "ylabel").first?.text, "test accuracy (%)")
        let first = pathPoints(xml.all("path", cls: "series")[1].attributes["d"]!)
        XCTAssertEqual(first[9].1, chart.yAxis.position(90), accuracy: 0.006)

        let reg = RunReport.metricChart(comparedRuns(metric: "test error norm"))
        XCTAssertEqual(reg.yAxis.scale, .log)
        let regXML = XMLCollector.parse(reg.render().render())
        XCTAssertTrue(regXML.all("text", cls: "ylabel")[0].text.hasPrefix("test error norm"))
        XCTAssertEqual(regXML.all("path", cls: "series").count, 3)
    }

    func testFitSVGDrawsTruthPredictionsAndTestPoints() {
        let xs = (0...100).map { 2 * Double.pi * Double($0) / 100 }
        let f = { (x: Double) in cos(x) * cos(x) * sin(x * x) }
        let fit = FitSeries(x: xs, truth: xs.map(f),
                            predictions: [("deep", xs.map { f($0) + 0.05 }), ("multilevel", xs.map { f($0) - 0.05 })],
                            testX: [0.5, 1, 2], testY: [f(0.5), f(1), f(2)])
        let chart = RunReport.fitChart(fit)
        let xml = XMLCollector.parse(chart.render().render())
        let paths = xml.all("path", cls: "series")
        XCTAssertEqual(paths.map { $0.attributes["data-label"] }, ["true f(x)", "deep", "multilevel"])
        for p in paths { XCTAssertEqual(pathPoints(p.attributes["d"]!).count, 101) }
        let dots = xml.elements.filter { $0.name == "circle" && $0.attributes["r"] == "2" }
        XCTAssertEqual(dots.count, 3)
        XCTAssertEqual(Double(dots[1].attributes["cx"]!)!, chart.xAxis.position(1), accuracy: 0.006)
        XCTAssertEqual(Double(dots[1].attributes["cy"]!)!, chart.yAxis.position(f(1)), accuracy: 0.006)
        XCTAssertEqual(xml.all("text", cls: "xlabel").first?.text, "x (radians)")
    }

    func testCostSVGStacksLevelsAndShowsMemory() {
        let xml = XMLCollector.parse(RunReport.costSVG(comparedRuns()).render())
        let bars = xml.all("g", cls: "bar")
        XCTAssertEqual(bars.map { $0.attributes["data-label"] }, ["shallow", "deep", "multilevel", "shallow", "deep", "multilevel"])
        let segments = xml.all("rect", cls: "segment")
        XCTAssertEqual(segments.map { $0.attributes["data-value"] },
                       ["60.000", "100.000", "30.000", "50.000", "80.000", "120.000", "118.000"])
        XCTAssertEqual(segments[3].attributes["data-label"], "level 2")
        // The level-2 segment sits directly on top of the level-1 segment.
        XCTAssertEqual(Double(segments[3].attributes["y"]!)! + Double(segments[3].attributes["height"]!)!,
                       Double(segments[2].attributes["y"]!)!, accuracy: 0.011)
        XCTAssertEqual(xml.all("text", cls: "bar-total").map(\.text),
                       ["60.0 s", "100.0 s", "80.0 s", "80 MB", "120 MB", "118 MB"])
        XCTAssertEqual(xml.all("text", cls: "ylabel").map(\.text), ["training steps (s)", "peak resident memory (MB)"])
    }

    /// A run whose wall time (2.1 s) exceeds its training steps, with one stalled epoch: the bar,
    /// its label and the terminal table's "training steps (s)" are one figure.
    func testCostBarIsLabelledWithItsOwnHeightAndEqualsTheTerminalTable() throws {
        var run = syntheticRun(variant: "deep", epochs: 4, levels: [(3, 1, "euler")], seconds: [1.6], peakMB: 10)
        run.history[2].take(3.0)   // a stall: the lower decile (0.4 s) counts it as 0.4
        run.trainSeconds = 2.1
        let xml = XMLCollector.parse(RunReport.costSVG([run]).render())
        let height = xml.all("rect", cls: "segment").prefix(1).compactMap { Double($0.attributes["data-value"]!) }.reduce(0, +)
        XCTAssertEqual(height, 1.6, accuracy: 1e-3)
        XCTAssertEqual(xml.all("text", cls: "bar-total").first?.text, "1.60 s")
        let table = SeedTable(variants: SeededVariant.group([run]), target: 0.9)
        let column = try XCTUnwrap(table.header.firstIndex(of: "training steps (s)"))
        XCTAssertEqual(table.rows[0][column] + " s", xml.all("text", cls: "bar-total").first?.text)
        // The per-run tables (comparison.md, index.html) give the wall time and the same steps.
        XCTAssertTrue(ReportTable.comparison([run]).contains("| 2.10 | 1.60 | – | 1.60 |"), ReportTable.comparison([run]))
        XCTAssertEqual(Array(RunReport.tableRows([run])[0][4...6]), ["2.10", "1.60", "1.60"])
    }

    /// Nine runs (three variants × three seeds) do not fit their names under the bars side by
    /// side: the names are slanted, every one whole; three runs keep them level.
    func testManyBarsSlantTheirNamesAndTheMetaLineCountsVariantsAndSeeds() {
        let runs = (1...3).flatMap { seed in comparedRuns().map { r -> RunSummary in var r = r; r.seed = seed; return r } }
        let xml = XMLCollector.parse(RunReport.costSVG(runs).render())
        let names = xml.all("text", cls: "xtick")
        XCTAssertEqual(names.count, 18)
        XCTAssertEqual(names[2].text, "multilevel s1")
        XCTAssertTrue(names.allSatisfy { $0.attributes["transform"]?.hasPrefix("rotate(-40.00 ") ?? false })
        let three = XMLCollector.parse(RunReport.costSVG(comparedRuns()).render()).all("text", cls: "xtick")
        XCTAssertTrue(three.allSatisfy { $0.attributes["transform"] == nil })
        XCTAssertTrue(RunReport.html(runs: runs, fit: nil, title: "t").contains("· 3 variants × 3 seeds</p>"))
    }

    /// Two variants with the same curve: each keeps markers of its own shape, at other points.
    func testIdenticalCurvesStayVisibleByTheirPointMarkers() {
        let a = syntheticRun(variant: "deep", epochs: 30, levels: [(3, 1, "euler")], seconds: [3], peakMB: 10)
        var b = a
        b.variant = "multilevel"
        let xml = XMLCollector.parse(RunReport.metricChart([a, b]).render().render())
        let groups = xml.all("g", cls: "point-markers")
        XCTAssertEqual(groups.map { $0.attributes["data-label"] }, ["deep", "multilevel"])
        let circles = xml.elements.filter { $0.name == "circle" && $0.attributes["r"] == "3.60" }.map { $0.attributes["cx"]! }
        let squares = xml.elements.filter { $0.name == "rect" && $0.attributes["width"] == "7.20" }.map { $0.attributes["x"]! }
        XCTAssertEqual(circles.count, 15 + 1)   // every 2nd of 30 points, and the legend's
        XCTAssertEqual(squares.count, 15 + 1)
        XCTAssertEqual(LineChart.markerIndices(count: 30, series: 0, of: 2).prefix(3), [0, 2, 4])
        XCTAssertEqual(LineChart.markerIndices(count: 30, series: 1, of: 2).prefix(3), [1, 3, 5])
    }

    func testWriteProducesFilesAndAnHTMLPageWithTableAndFigures() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runs = comparedRuns()
        try RunReport.write(runs: runs, fit: nil, directory: dir, title: "fashion <compare>")
        for name in ["loss.svg", "metric.svg", "time.svg", "cost.svg"] {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            _ = XMLCollector.parse(text)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/fit.svg"))
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        let doc = XMLCollector.parse(html)  // the page is also well-formed XML
        XCTAssertEqual(doc.all("title").first?.text, "fashion <compare>")
        // Two tables: the comparison over seeds (what the terminal prints), then every run.
        XCTAssertEqual(doc.all("table").count, 2)
        XCTAssertEqual(doc.all("tr").count, 8)
        let all = doc.all("td").map(\.text)
        XCTAssertEqual(Array(all[0..<8]), ["shallow", "1", "90.00", "76.50", "60.0", "never (0 of 1)", "+40.0 %", "–"])
        XCTAssertEqual(Array(all[16..<24]), ["multilevel", "1", "90.00", "76.50", "80.0", "never (0 of 1)", "+20.0 %", "–"])
        XCTAssertTrue(html.contains("multilevel took 20 % less training-step time (1 seed)"), html)
        XCTAssertTrue(html.contains("thesis: multi-level reaches"), html)
        let cells = Array(all[24...])
        XCTAssertEqual(Array(cells[0..<9]), ["shallow", "2,2", "0.056495", "90.00 %", "60.00", "60.00", "60.00", "80", "+40.0 %"])
        XCTAssertEqual(Array(cells[9..<18]), ["deep", "3,3", "0.056495", "90.00 %", "100.00", "100.00", "100.00", "120", "–"])
        XCTAssertEqual(Array(cells[18..<27]), ["multilevel", "3,3", "0.056495", "90.00 %", "80.00", "80.00", "30.00 / 50.00", "118", "+20.0 %"])
        XCTAssertEqual(doc.all("svg").count, 4)
        XCTAssertEqual(doc.all("figure").map { $0.attributes["id"] }, ["loss.svg", "metric.svg", "time.svg", "cost.svg"])
        XCTAssertEqual(doc.all("path", cls: "series").count, 9)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"))

        // With a fit, fit.svg appears too; the same input gives the same bytes.
        let fit = FitSeries(x: [0, 1, 2], truth: [0, 1, 0], predictions: [("deep", [0, 0.9, 0.1])])
        try RunReport.write(runs: runs, fit: fit, directory: dir, title: "t")
        let once = try Data(contentsOf: URL(fileURLWithPath: dir + "/index.html"))
        try RunReport.write(runs: runs, fit: fit, directory: dir, title: "t")
        XCTAssertEqual(once, try Data(contentsOf: URL(fileURLWithPath: dir + "/index.html")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/fit.svg"))
        XCTAssertEqual(XMLCollector.parse(String(decoding: once, as: UTF8.self)).all("svg").count, 5)
    }

    func testVariantNamesAreEscaped() {
        var run = comparedRuns()[0]
        run.variant = "a<b&\"c\""
        let xml = XMLCollector.parse(RunReport.lossChart([run]).render().render())
        XCTAssertEqual(xml.all("path", cls: "series")[0].attributes["data-label"], "a<b&\"c\"")
        XCTAssertEqual(xml.all("text", cls: "legend")[0].text, "a<b&\"c\"")
    }

    func testWriteIntoMissingDirectoryThrows() {
        XCTAssertThrowsError(try RunReport.write(runs: comparedRuns(), fit: nil, directory: "/nonexistent/dir", title: "t"))
    }

    func testStepSizeIsWrittenAsAFraction() {
        XCTAssertEqual(RunReport.hText(1), "1")
        XCTAssertEqual(RunReport.hText(0.5), "1/2")
        XCTAssertEqual(RunReport.hText(0.25), "1/4")
        XCTAssertEqual(RunReport.hText(0.3), "0.3")
    }
}
