import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// Parses XML and keeps every element with its attributes and text, in document order.
final class XMLCollector: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }
    var elements: [Element] = []
    private var stack: [Int] = []

    static func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> XMLCollector {
        let c = XMLCollector()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = c
        let ok = parser.parse()
        XCTAssertTrue(ok, "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return c
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(Element(name: name, attributes: attributes))
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        for i in stack { elements[i].text += string }
    }

    func all(_ name: String, cls: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (cls == nil || $0.attributes["class"] == cls) }
    }
}

/// A run with a plausible history: loss falling geometrically, accuracy rising, levels switching.
func syntheticRun(variant: String, epochs: Int = 10, levels: [(blocks: Int, h: Double, integrator: String)],
                  switches: [Int] = [], metric: String = "test accuracy", seconds: [Double], peakMB: Double) -> RunSummary {
    var history: [EpochRecord] = []
    for e in 1...epochs {
        let level = switches.filter { $0 < e }.count
        let l = levels[level]
        // Each level's seconds spread evenly over its epochs, so the robust time equals them.
        let inLevel = (1...epochs).filter { e2 in switches.filter { $0 < e2 }.count == level }.count
        let acc = 0.6 + 0.3 * Double(e) / Double(epochs)
        history.append(EpochRecord(epoch: e, level: level + 1, blocks: [l.blocks, l.blocks], h: l.h, integrator: l.integrator,
                                   learningRate: 0.005, trainLoss: 2.0 * pow(0.7, Double(e)),
                                   testMetric: metric == "test accuracy" ? acc : 5 * pow(0.8, Double(e)),
                                   testMetricName: MetricKind(rawValue: metric)!, epochSeconds: seconds[level] / Double(inLevel), samplesPerSecond: 1000,
                                   allreduceShare: 0, peakRSSBytes: Int(peakMB * 1e6)))
    }
    let last = history.last!
    return RunSummary(experiment: "fashion", variant: variant, ranks: 2, epochs: epochs, finalTrainLoss: last.trainLoss,
                      testMetric: last.testMetric, testMetricName: MetricKind(rawValue: metric)!, trainSeconds: seconds.reduce(0, +),
                      levelSeconds: seconds, switchEpochs: switches, finalBlocks: last.blocks, parameterCount: 1000,
                      peakRSSBytes: Int(peakMB * 1e6), runDirectory: nil, history: history)
}

func comparedRuns(metric: String = "test accuracy") -> [RunSummary] {
    [
        syntheticRun(variant: "shallow", levels: [(2, 1, "euler")], metric: metric, seconds: [60], peakMB: 80),
        syntheticRun(variant: "deep", levels: [(3, 1, "euler")], metric: metric, seconds: [100], peakMB: 120),
        syntheticRun(variant: "multilevel", levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [5],
                     metric: metric, seconds: [30, 50], peakMB: 118),
    ]
}

/// (x, y) pairs of an "M x,y L x,y …" path.
func pathPoints(_ d: String) -> [(Double, Double)] {
    d.split(separator: " ").map { token in
        let xy = token.dropFirst().split(separator: ",").map { Double($0)! }
        return (xy[0], xy[1])
    }
}

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
        run.history[2].epochSeconds = 3.0   // a stall: the median epoch (0.4 s) counts it as 0.4
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

final class ProgressReporterTests: XCTestCase {
    final class Sink {
        var chunks: [String] = []
        var text: String { chunks.joined() }
    }

    func record(epoch: Int) -> EpochRecord {
        comparedRuns()[2].history[epoch - 1]
    }

    func reporter(terminal: Bool, quiet: Bool = false, epochs: Int = 2, logEvery: Int? = nil,
                  time: @escaping () -> Double) -> (ProgressReporter, Sink) {
        let sink = Sink()
        let p = ProgressReporter(label: "deep s1", totalEpochs: epochs, stepsPerEpoch: 4, quiet: quiet, logEvery: logEvery,
                                 isTerminal: terminal, output: { sink.chunks.append($0) }, clock: time)
        return (p, sink)
    }

    /// What a terminal shows of the output: each line as its last `\r`-redraw left it.
    func screen(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            String(line.split(separator: "\r").last ?? "").replacingOccurrences(of: "\u{1B}[K", with: "")
        }
    }

    func testTerminalKeepsOneLiveLinePerRun() {
        var now = 0.0
        let (p, sink) = reporter(terminal: true) { now }
        for e in 1...2 {
            for s in 1...4 {
                now += 1
                p.step(globalStep: (e - 1) * 4 + s - 1, loss: Double(s), samples: 100)
            }
            if e == 1 { XCTAssertFalse(sink.text.contains("\n"), "one line, redrawn in place, during the run") }
            p.epochFinished(record(epoch: e))
        }
        // After 2 of 8 steps: 1 s for the step after the first, 6 steps left.
        XCTAssertEqual(sink.chunks[1], "\rdeep s1  epoch 1/2  loss 1.50000  ETA 6.0s\u{1B}[K")
        let r2 = record(epoch: 2)
        XCTAssertEqual(screen(sink.text), [String(format: "deep s1  epoch 2/2  level 1  loss %.5f  acc %.2f%%  1000 samples/s  done in 7.0s",
                                                  r2.trainLoss, 100 * r2.testMetric)])
    }

    func testTerminalRedrawsAreThrottledButTheEndIsDrawn() {
        let (p, sink) = reporter(terminal: true) { 5.0 }
        for g in 0..<8 { p.step(globalStep: g, loss: 1, samples: 10) }
        p.epochFinished(record(epoch: 1))
        XCTAssertEqual(sink.chunks.count, 1, "one draw per 0.1 s at most")
        p.epochFinished(record(epoch: 2))
        XCTAssertTrue(sink.text.hasSuffix("done in 0.0s\u{1B}[K\n"), sink.text)
    }

    func testNonTerminalLogOfA1000EpochRunIsBounded() {
        let run = syntheticRun(variant: "deep", epochs: 1000, levels: [(3, 1, "euler")], seconds: [4], peakMB: 10)
        let (p, sink) = reporter(terminal: false, epochs: 1000) { 0 }
        for r in run.history { p.epochFinished(r) }
        let lines = screen(sink.text)
        XCTAssertEqual(p.logEvery, 40)
        XCTAssertEqual(lines.count, 26)   // epoch 1, then 40, 80, …, 1000
        XCTAssertEqual(lines.first, ReportTable.epochLine(run.history[0], epochs: 1000))
        XCTAssertEqual(lines[1], ReportTable.epochLine(run.history[39], epochs: 1000))
        XCTAssertEqual(lines.last, ReportTable.epochLine(run.history[999], epochs: 1000))
        XCTAssertFalse(sink.text.contains("\r"))
    }

    func testLogEveryChoosesTheEpochsLogged() {
        let run = syntheticRun(variant: "deep", epochs: 1000, levels: [(3, 1, "euler")], seconds: [4], peakMB: 10)
        let (p, sink) = reporter(terminal: false, epochs: 1000, logEvery: 300) { 0 }
        for r in run.history { p.epochFinished(r) }
        XCTAssertEqual(screen(sink.text).map { $0.split(separator: " ")[1] }, ["1/1000", "300/1000", "600/1000", "900/1000", "1000/1000"])
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 50), 2)
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 25), 1)
        XCTAssertEqual(ProgressReporter.defaultLogEvery(epochs: 8000), 320)
    }

    func testEpochLineShowsShortEpochsInMilliseconds() {
        var r = record(epoch: 1)
        r.epochSeconds = 0.0042
        XCTAssertTrue(ReportTable.epochLine(r, epochs: 2).contains("  4.2ms  "), ReportTable.epochLine(r, epochs: 2))
        XCTAssertEqual(ReportTable.seconds(0.42), "0.42s")
        XCTAssertEqual(ReportTable.seconds(12.34), "12.3s")
    }

    func testQuietPrintsNothing() {
        for terminal in [true, false] {
            let (p, sink) = reporter(terminal: terminal, quiet: true) { 0 }
            p.step(globalStep: 0, loss: 1, samples: 1)
            p.epochFinished(record(epoch: 1))
            p.message("level switch")
            p.finish()
            XCTAssertTrue(sink.chunks.isEmpty)
        }
    }

    func testDurations() {
        XCTAssertEqual(ProgressReporter.duration(4.25), "4.2s")
        XCTAssertEqual(ProgressReporter.duration(42.4), "42s")
        XCTAssertEqual(ProgressReporter.duration(185), "3m05s")
        XCTAssertEqual(ProgressReporter.duration(3720), "1h02m")
        XCTAssertEqual(ProgressReporter.duration(.nan), "?")
    }

    func testMessageClearsTheLiveLineAndAnEarlyStopEndsIt() {
        var now = 0.0
        let (p, sink) = reporter(terminal: true) { now }
        now = 1
        p.step(globalStep: 0, loss: 1, samples: 1)
        p.message("switching to level 2")
        XCTAssertEqual(sink.chunks.last, "\r\u{1B}[Kswitching to level 2\n")
        XCTAssertEqual(p.clearLine(), "", "nothing to clear once cleared")
        now = 2
        p.step(globalStep: 1, loss: 1, samples: 1)
        p.finish()
        XCTAssertEqual(sink.chunks.last, "\n")
        XCTAssertEqual(screen(sink.text).count, 2)
    }

    /// On an 80-column terminal a longer live line would wrap, and each redraw leave a row behind.
    func testLiveLineFitsTheTerminalWidth() {
        let line = "multilevel s3  epoch 1000/1000  level 2  loss 0.00039  err 0.6505  72677 samples/s  ETA 30s"
        XCTAssertEqual(ProgressReporter.fit(line, columns: 200), line)
        XCTAssertEqual(ProgressReporter.fit(line, columns: 80),
                       "multilevel s3 epoch 1000/1000 level 2 loss 0.00039 err 0.6505 ETA 30s")
        XCTAssertEqual(ProgressReporter.fit(line, columns: 40).count, 39)
        XCTAssertEqual(ProgressReporter.fit(line, columns: nil), line)
        var now = 0.0
        let sink = Sink()
        let p = ProgressReporter(label: "multilevel s3", totalEpochs: 2, stepsPerEpoch: 4, quiet: false, isTerminal: true,
                                 columns: 30, output: { sink.chunks.append($0) }, clock: { now })
        now = 1
        p.step(globalStep: 0, loss: 1, samples: 1)
        XCTAssertEqual(sink.chunks, ["\rmultilevel s3 epoch 1/2 loss \u{1B}[K"])  // 29 of 30 columns
    }

    func testTerminalPathsAreRecognised() {
        XCTAssertTrue(TerminalDetection.isTerminalPath("/dev/pts/3"))
        XCTAssertTrue(TerminalDetection.isTerminalPath("/dev/tty1"))
        XCTAssertFalse(TerminalDetection.isTerminalPath("pipe:[123456]"))
        XCTAssertFalse(TerminalDetection.isTerminalPath("/tmp/log.txt"))
        XCTAssertFalse(TerminalDetection.isTerminalPath(nil))
    }
}

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
        slower[2] = syntheticRun(variant: "multilevel", levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [5],
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
        for i in runs[2].history.indices { runs[2].history[i].epochSeconds = i < 5 ? 0.5 : 2 }
        let chart = RunReport.timeChart(runs)
        XCTAssertEqual(chart.series.count, 3)
        XCTAssertEqual(chart.series[0].points.map(\.x), (1...10).map { 6 * Double($0) })   // 60 s over 10 epochs
        XCTAssertEqual(chart.series[2].points.map(\.x), [0.5, 1, 1.5, 2, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5])
        XCTAssertEqual(chart.series[2].points.map(\.y), runs[2].history.map { 100 * $0.testMetric })
        XCTAssertTrue(RunReport.timeSVG(runs).contains("training-step seconds"))
        // A stalled epoch counts at its level's median, as the tables count it.
        runs[2].history[1].epochSeconds = 50
        XCTAssertEqual(RunReport.timeChart(runs).series[2].points.map(\.x), [0.5, 1, 1.5, 2, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5])
        // The target line sits at the experiment's default (90.5 % for Fashion-MNIST).
        XCTAssertEqual(RunReport.timeChart(runs).target?.y, 90.5)
        XCTAssertTrue(RunReport.timeSVG(runs, target: 0.8).contains("target 80.00 %"))
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
        run.history[4].epochSeconds = 40                                  // another job stalled one epoch
        XCTAssertEqual(run.robustTrainingSeconds, 9, accuracy: 1e-12)
        run.history[3].epochSeconds = 3                                   // medians of (3, 40, 2) and (1, 1, 1)
        XCTAssertEqual(run.robustTrainingSeconds, 3 + 3 * 3, accuracy: 1e-12)
        run.history = []
        XCTAssertEqual(run.robustTrainingSeconds, run.trainSeconds)
    }
}
