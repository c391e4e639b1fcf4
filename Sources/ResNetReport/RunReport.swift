import Foundation
import ResNetTraining

/// A regression fit to draw in `fit.svg`: the true function and each variant's prediction on a
/// grid over [0, 2π], and optionally the test points.
///
/// ```swift
/// let fit = FitSeries(x: grid, truth: grid.map(f),
///                     predictions: [(label: "deep", y: deepModelOutputs)],
///                     testX: testInputs, testY: testTargets)
/// ```
public struct FitSeries {
    public var x: [Double]
    public var truth: [Double]
    public var predictions: [(label: String, y: [Double])]
    public var testX: [Double]?
    public var testY: [Double]?

    public init(x: [Double], truth: [Double], predictions: [(label: String, y: [Double])],
                testX: [Double]? = nil, testY: [Double]? = nil) {
        self.x = x
        self.truth = truth
        self.predictions = predictions
        self.testX = testX
        self.testY = testY
    }
}

/// The pictures and the HTML page of a run directory.
///
/// ```swift
/// try RunReport.write(runs: summaries, fit: nil, directory: output.directory,
///                     title: "fashion: shallow vs deep vs multilevel")
/// ```
/// writes `loss.svg`, `metric.svg`, `time.svg`, `cost.svg`, `fit.svg` (only when `fit` is given) and
/// `index.html` into `directory`, which must exist. Call it on rank 0 after the last run of a
/// `train` or `compare`. Each `RunSummary` is one compared variant; its `history` gives the curves.
public enum RunReport {
    public static func write(runs: [RunSummary], fit: FitSeries?, directory: String, title: String,
                             target: Double? = nil) throws {
        var files: [(String, String)] = [
            ("loss.svg", lossChart(runs).render().render()),
            ("metric.svg", metricChart(runs).render().render()),
            ("time.svg", timeChart(runs, target: target).render().render()),
            ("cost.svg", costSVG(runs).render()),
        ]
        if let fit { files.append(("fit.svg", fitChart(fit).render().render())) }
        files.append(("index.html", html(runs: runs, fit: fit, title: title, target: target)))
        for (name, text) in files {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw TrainingError.output("cannot write \(path): \((error as NSError).localizedDescription)")
            }
        }
    }

    // MARK: - HTML

    static func metricText(_ value: Double, kind: MetricKind) -> String {
        kind.isAccuracy ? String(format: "%.2f %%", value * 100) : String(format: "%.4f", value)
    }

    /// Rows of the summary table, one per run, cells already formatted (also used by tests): the
    /// run's wall time, then its training steps as every other table and chart counts them.
    static func tableRows(_ runs: [RunSummary]) -> [[String]] {
        let deep = runs.first(where: \.isDeepBaseline)
        let costs = EpochCosts(runs)
        return runs.map { r in
            var saving = "–"
            if let deep, !r.isDeepBaseline, deep.trainSeconds > 0 {
                saving = String(format: "%+.1f %%", 100 * costs.saving(r, versus: deep))
            }
            return [
                r.seed.map { "\(r.variant) (seed \($0))" } ?? r.variant,
                blocksText(r.finalBlocks),
                String(format: "%.5g", r.finalTrainLoss),
                metricText(r.testMetric, kind: r.testMetricName),
                String(format: "%.2f", r.trainSeconds),
                String(format: "%.2f", costs.trainingSeconds(r)),
                costs.levelSeconds(r).map { String(format: "%.2f", $0) }.joined(separator: " / "),
                String(format: "%.0f", Double(r.peakRSSBytes) / 1e6),
                saving,
            ]
        }
    }

    /// What the terminal prints after a comparison: the headline, the verdict and the table over
    /// seeds (nothing for a single variant).
    static func comparisonHTML(_ runs: [RunSummary], target: Double?) -> String {
        guard let first = runs.first, Set(runs.map(\.variant)).count >= 2 else { return "" }
        let t = target ?? MetricTarget.defaultTarget(experiment: first.experiment, metric: first.testMetricName)
        var h = ""
        if let line = ReportTable.headline(runs) { h += "<p class=\"headline\"><b>\(xmlEscape(line))</b></p>\n" }
        let v = ThesisComparison.verdict(experiment: first.experiment, runs: runs)
        if v.outcome != .incomplete { h += "<p class=\"verdict\">thesis: \(xmlEscape(v.line))</p>\n" }
        let table = SeedTable(variants: SeededVariant.group(runs), target: t)
        h += "<table class=\"seeds\">\n<tr>" + table.header.map { "<th>\(xmlEscape($0))</th>" }.joined() + "</tr>\n"
        for row in table.rows {
            h += "<tr>" + row.enumerated().map { i, cell in
                i == 0 ? "<td>\(xmlEscape(cell))</td>" : "<td class=\"num\">\(xmlEscape(cell))</td>"
            }.joined() + "</tr>\n"
        }
        h += "</table>\n<p class=\"meta\">\(xmlEscape(SeedTable.footnote)) Below: every run.</p>\n"
        return h
    }

    static func html(runs: [RunSummary], fit: FitSeries?, title: String, target: Double? = nil) -> String {
        let accuracy = (runs.first?.testMetricName ?? .errorNorm).isAccuracy
        let headers = ["variant", "blocks", "final train loss", accuracy ? "test accuracy" : "test error norm",
                       "wall time (s)", "training steps (s)", "steps per level (s)", "peak RSS per rank (MB)", "saving vs deep"]
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>\(xmlEscape(title))</title>
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 940px; }
        h1 { font-size: 22px; margin-bottom: 4px; }
        p.meta { color: #555; margin-top: 0; }
        table { border-collapse: collapse; margin: 16px 0 24px; font-size: 14px; }
        th, td { border-bottom: 1px solid #ccc; padding: 5px 10px; }
        th { background: #f2f2f2; text-align: left; }
        td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        table.seeds td.num { white-space: normal; }
        figure { margin: 0 0 28px; }
        figcaption { font-size: 13px; color: #555; }
        svg { max-width: 100%; height: auto; }
        </style>
        </head>
        <body>
        <h1>\(xmlEscape(title))</h1>

        """
        if let first = runs.first {
            let epochs = runs.map(\.epochs).max() ?? first.epochs
            let variants = Set(runs.map(\.variant)).count, seeds = Set(runs.map { $0.seed ?? 1 }).count
            h += "<p class=\"meta\">experiment \(xmlEscape(first.experiment)) · \(first.ranks) rank\(first.ranks == 1 ? "" : "s") · "
                + "\(epochs) epochs · \(variants) variant\(variants == 1 ? "" : "s")"
                + (seeds > 1 ? " × \(seeds) seeds" : "") + "</p>\n"
        }
        h += comparisonHTML(runs, target: target)
        h += "<table class=\"summary\">\n<tr>" + headers.map { "<th>\(xmlEscape($0))</th>" }.joined() + "</tr>\n"
        for row in tableRows(runs) {
            h += "<tr>" + row.enumerated().map { i, cell in
                i <= 1 ? "<td>\(xmlEscape(cell))</td>" : "<td class=\"num\">\(xmlEscape(cell))</td>"
            }.joined() + "</tr>\n"
        }
        h += "</table>\n"
        var figures: [(String, String, String)] = [
            ("loss.svg", lossChart(runs).render().inlineSVG(),
             "Training loss per epoch (log scale); dashed lines mark the end of each level, labelled with the next level's blocks and step h."),
            ("metric.svg", metricChart(runs).render().inlineSVG(),
             accuracy ? "Test accuracy after each epoch." : "L2 norm of prediction − truth over the test set after each epoch."),
            ("time.svg", timeChart(runs, target: target).render().inlineSVG(),
             "The same test metric against the training steps' time (each epoch at the lower decile of the runs' epochs of its kind; evaluation excluded): time at equal quality. The dotted line is the target of the table's time to target."),
        ]
        if let fit {
            figures.append(("fit.svg", fitChart(fit).render().inlineSVG(),
                            "The learned functions against the true one over [0, 2π]; grey dots are the test points."))
        }
        figures.append(("cost.svg", costSVG(runs).inlineSVG(),
                        "Training-step time, stacked by level (each epoch at the lower decile of the runs' epochs of its kind: the tables' training steps), and the largest peak resident memory of any rank."))
        for (file, svg, caption) in figures {
            h += "<figure id=\"\(file)\">\n\(svg)<figcaption>\(xmlEscape(caption)) (<a href=\"\(file)\">\(file)</a>)</figcaption>\n</figure>\n"
        }
        h += "</body>\n</html>\n"
        return h
    }
}
