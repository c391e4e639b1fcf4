import Foundation
import ResNetTraining

/// The run report's charts: loss, metric, metric against training time (with the target and the
/// level switches), cost and the regression fit.
extension RunReport {
    static func lossChart(_ runs: [RunSummary]) -> LineChart {
        var chart = LineChart(id: "loss", title: "Training loss", xLabel: "epoch",
                              yLabel: "training loss (mean over epoch, log scale)")
        chart.yScale = .log
        chart.integerX = true
        chart.series = zip(runs, seriesStyles(runs)).map { r, style in
            PlotSeries(label: style.label, points: r.history.map { (Double($0.epoch), $0.trainLoss) }, color: style.color,
                       width: style.width, dash: style.dash, marker: style.marker)
        }
        chart.markers = switchMarkers(runs)
        return chart
    }

    static func metricChart(_ runs: [RunSummary]) -> LineChart {
        let accuracy = (runs.first?.testMetricName ?? .errorNorm).isAccuracy
        var chart = LineChart(id: "metric", title: accuracy ? "Test accuracy" : "Test error",
                              xLabel: "epoch",
                              yLabel: accuracy ? "test accuracy (%)" : "test error norm ‖prediction − truth‖₂ (log scale)")
        chart.yScale = accuracy ? .linear : .log
        chart.integerX = true
        chart.series = zip(runs, seriesStyles(runs)).map { r, style in
            PlotSeries(label: style.label,
                       points: r.history.map { (Double($0.epoch), accuracy ? $0.testMetric * 100 : $0.testMetric) },
                       color: style.color, width: style.width, dash: style.dash, marker: style.marker)
        }
        chart.markers = switchMarkers(runs)
        return chart
    }

    /// The thesis's claim is time at equal quality: the test metric against the training steps'
    /// time, every variant (and seed) on one chart, with the target of "time to target" drawn
    /// across. Epochs are counted as the tables count them: each at the lower decile of the runs'
    /// epochs of its kind (`EpochCosts`), so where a curve crosses the target line is the table's
    /// time to target.
    static func timeChart(_ runs: [RunSummary], title: String? = nil, target: Double? = nil) -> LineChart {
        var chart = metricChart(runs)
        chart.id = "time"
        chart.title = title ?? chart.title + " against training time"
        chart.xLabel = "training-step seconds (each epoch at the lower decile of its kind, cumulative)"
        chart.integerX = false
        // Level switches where they fall in time: one set per variant (its first seed's), since
        // every seed of a variant switches at the same epochs at nearly the same time.
        let epochMarkers = switchMarkers(runs)
        var markers: [PlotMarker] = []
        var marked = Set<String>()
        var k = 0
        let costs = EpochCosts(runs)
        for (i, r) in runs.enumerated() {
            var endOfEpoch: [Int: Double] = [:]
            chart.series[i].points = zip(zip(r.history, costs.elapsed(r)), chart.series[i].points).map { recordTime, point in
                let (record, elapsed) = recordTime
                endOfEpoch[record.epoch] = elapsed
                return (elapsed, point.y)
            }
            for s in r.switchEpochs {
                defer { k += 1 }
                guard !marked.contains(r.variant), let x = endOfEpoch[s] else { continue }
                var m = epochMarkers[k]
                m.x = x
                markers.append(m)
            }
            marked.insert(r.variant)
        }
        chart.markers = markers
        if let kind = runs.first?.testMetricName {
            let t = target ?? MetricTarget.defaultTarget(experiment: runs[0].experiment, metric: kind)
            chart.target = (kind.isAccuracy ? 100 * t : t, "target " + MetricTarget.text(t, metric: kind))
        }
        return chart
    }

    /// `timeChart` as an SVG document.
    public static func timeSVG(_ runs: [RunSummary], title: String? = nil, target: Double? = nil) -> String {
        timeChart(runs, title: title, target: target).render().render()
    }

    /// Colour and point marker per variant, line style per seed, and labels that name the seed
    /// when a chart holds more than one.
    static func seriesStyles(_ runs: [RunSummary]) -> [(label: String, color: String, width: Double, dash: String?, marker: Int)] {
        var variants: [String] = []
        for r in runs where !variants.contains(r.variant) { variants.append(r.variant) }
        let seeds = Set(runs.map { $0.seed ?? 1 })
        let seedOrder = seeds.sorted()
        let dashes: [String?] = [nil, "7 3", "2 3", "10 3 2 3"]
        return runs.map { r in
            let v = variants.firstIndex(of: r.variant) ?? 0
            let k = seedOrder.firstIndex(of: r.seed ?? 1) ?? 0
            let label = seeds.count > 1 ? "\(seriesLabel(r)) s\(r.seed ?? 1)" : seriesLabel(r)
            return (label, Palette.color(v), seeds.count > 1 ? 1.6 : 2, dashes[k % dashes.count], v)
        }
    }

    static func fitChart(_ fit: FitSeries) -> LineChart {
        var chart = LineChart(id: "fit", title: "Learned function against the true one",
                              xLabel: "x (radians)", yLabel: "f(x)")
        let lo = min(0, fit.x.min() ?? 0), hi = max(2 * Double.pi, fit.x.max() ?? 0)
        chart.xDomain = (lo, hi)
        if lo == 0, hi == 2 * Double.pi {
            chart.xTicks = [(0, "0"), (Double.pi / 2, "π/2"), (Double.pi, "π"), (3 * Double.pi / 2, "3π/2"), (2 * Double.pi, "2π")]
        }
        chart.series = [PlotSeries(label: "true f(x)", points: Array(zip(fit.x, fit.truth)).map { ($0, $1) },
                                   color: "#000000", width: 2.5)]
        for (i, p) in fit.predictions.enumerated() {
            chart.series.append(PlotSeries(label: p.label, points: Array(zip(fit.x, p.y)).map { ($0, $1) },
                                           color: Palette.color(i), width: 1.8, dash: i == 0 ? nil : "7 3", marker: i))
        }
        if let tx = fit.testX, let ty = fit.testY {
            chart.scatter = ("test points", Array(zip(tx, ty)).map { ($0, $1) })
        }
        return chart
    }

    /// Two panels: the training steps' time stacked by level, and peak resident memory. The time
    /// is the tables' "training steps (s)" (each epoch at the lower decile of its kind), and
    /// each bar is labelled with its own height.
    static func costSVG(_ runs: [RunSummary]) -> SVGWriter {
        var svg = SVGWriter(width: 900, height: 400)
        let labels = zip(runs, seriesStyles(runs)).map { $1.label }
        let costs = EpochCosts(runs)
        let maxLevels = runs.map { costs.levelSeconds($0).count }.max() ?? 1
        let timeBars = zip(runs, labels).map { r, label -> BarPanel.Bar in
            BarPanel.Bar(category: label,
                         segments: costs.levelSeconds(r).enumerated().map { ("level \($0 + 1)", $1, Palette.level($0)) },
                         totalLabel: SeedTable.seconds(costs.trainingSeconds(r)) + " s")
        }
        let time = BarPanel(id: "time", title: "Training-step time", yLabel: "training steps (s)", bars: timeBars,
                            legend: (0..<max(1, maxLevels)).map { ("level \($0 + 1)", Palette.level($0)) })
        time.draw(&svg, x0: 0, y0: 0, width: 480, height: 400)
        let memBars = zip(runs, zip(labels, seriesStyles(runs))).map { r, ls in
            BarPanel.Bar(category: ls.0, segments: [("peak RSS", Double(r.peakRSSBytes) / 1e6, ls.1.color)],
                         totalLabel: String(format: "%.0f MB", Double(r.peakRSSBytes) / 1e6))
        }
        let memory = BarPanel(id: "memory", title: "Peak memory per rank", yLabel: "peak resident memory (MB)", bars: memBars)
        memory.draw(&svg, x0: 480, y0: 0, width: 420, height: 400)
        return svg
    }

    /// A dashed line where each level ends — at x = s for a switch after epoch s, the end of the
    /// old level's last epoch on an axis of epochs completed — labelled with the new depth and step.
    static func switchMarkers(_ runs: [RunSummary]) -> [PlotMarker] {
        var markers: [PlotMarker] = []
        for (i, r) in runs.enumerated() {
            for s in r.switchEpochs {
                let before = r.history.last { $0.epoch <= s }
                let after = r.history.first { $0.epoch > s }
                var label = "→ " + (after.map { "\(blocksText($0.blocks)) blocks, h \(hText($0.h))" } ?? "next level")
                if let a = after, let b = before, a.integrator != b.integrator { label += ", \(a.integrator)" }
                markers.append(PlotMarker(x: Double(s), label: label, color: Palette.color(i)))
            }
        }
        return markers
    }

    static func seriesLabel(_ r: RunSummary) -> String { r.variant.isEmpty ? r.experiment : r.variant }
    static func blocksText(_ b: [Int]) -> String { b.map(String.init).joined(separator: ",") }

    /// h as a fraction when it is 1/2^k (the multi-level steps), otherwise as a decimal.
    static func hText(_ h: Double) -> String {
        if h == 1 { return "1" }
        if h > 0, h < 1 {
            let k = (1 / h).rounded()
            if k <= 1024, abs(1 / k - h) < 1e-12 { return "1/\(Int(k))" }
        }
        return String(format: "%g", h)
    }
}
