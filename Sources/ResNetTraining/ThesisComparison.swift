import Foundation

/// The seed thesis's reported figures, per experiment and variant, and the claims its experiments
/// make — what `launch/replicate` compares our runs with.
public enum ThesisComparison {
    /// Test metric (accuracy in %, or the test error norm) and training time in seconds, as
    /// reported; nil where the thesis gives none.
    public struct Figure: Sendable {
        public let metric: Double?
        public let seconds: Double?
    }

    public static let figures: [String: [String: Figure]] = [
        "regression": ["deep": Figure(metric: nil, seconds: 97.8), "multilevel": Figure(metric: nil, seconds: 90.3)],
        "fashion": ["shallow": Figure(metric: 90.44, seconds: nil), "deep": Figure(metric: 91.14, seconds: 539.72),
                    "multilevel": Figure(metric: 91.56, seconds: 513.46)],
        "cifar": ["shallow": Figure(metric: 87.26, seconds: nil), "deep": Figure(metric: 90.18, seconds: 30.1 * 60),
                  "multilevel": Figure(metric: 90.51, seconds: 23.7 * 60)],
        "rk2-regression": ["deep": Figure(metric: 9.792, seconds: nil), "rk2": Figure(metric: 0.439, seconds: nil)],
        "rk2-fashion": ["deep": Figure(metric: 91.47, seconds: nil), "rk2": Figure(metric: 91.50, seconds: nil)],
        "rk2-multilevel": ["multilevel": Figure(metric: nil, seconds: 279), "rk2": Figure(metric: nil, seconds: 357)],
    ]

    /// The claim each experiment makes, and whether our runs reproduce it.
    public static func verdict(experiment: String, runs: [RunSummary]) -> (claim: String, verdict: String) {
        func run(_ v: String) -> RunSummary? { runs.first { $0.variant == v } }
        func better(_ a: RunSummary, _ b: RunSummary) -> Bool {
            a.testMetricName == "test accuracy" ? a.testMetric > b.testMetric : a.testMetric < b.testMetric
        }
        /// Within 1 percentage point of accuracy, or 10 % of the error norm.
        func comparable(_ a: RunSummary, _ b: RunSummary) -> Bool {
            a.testMetricName == "test accuracy" ? abs(a.testMetric - b.testMetric) <= 0.01
                : abs(a.testMetric - b.testMetric) <= 0.1 * max(a.testMetric, b.testMetric)
        }
        func say(_ ok: Bool) -> String { ok ? "reproduced" : "not reproduced" }
        switch experiment {
        case "regression", "fashion", "cifar":
            guard let deep = run("deep"), let ml = run("multilevel") else { return ("", "incomplete") }
            let claim = "multi-level reaches the deep network's test metric in less time than training the deep network"
            let metricOK = better(ml, deep) || comparable(ml, deep)
            // A saving within timing noise does not count: at least 5 % of the deep run's time.
            let timeOK = ml.trainSeconds < 0.95 * deep.trainSeconds
            let detail = "metric \(metricOK ? "comparable or better" : "worse"), time \(String(format: "%+.1f%%", 100 * (ml.trainSeconds - deep.trainSeconds) / deep.trainSeconds))"
            return (claim, "\(say(metricOK && timeOK)) (\(detail))")
        case "rk2-regression", "rk2-fashion":
            guard let euler = run("deep"), let rk2 = run("rk2") else { return ("", "incomplete") }
            if experiment == "rk2-regression" {
                // The thesis's gap is 22×; count it reproduced at half the error or better.
                return ("midpoint RK2 blocks fit far better than Euler blocks (error norm 0.439 vs 9.792)",
                        "\(say(rk2.testMetric <= 0.5 * euler.testMetric)) (RK2 \(String(format: "%.3f", rk2.testMetric)) vs Euler \(String(format: "%.3f", euler.testMetric)))")
            }
            return ("RK2 blocks match Euler blocks' accuracy (91.50 % vs 91.47 %)",
                    "\(say(comparable(rk2, euler) || better(rk2, euler))) (RK2 \(String(format: "%.2f%%", 100 * rk2.testMetric)) vs Euler \(String(format: "%.2f%%", 100 * euler.testMetric)))")
        case "rk2-multilevel":
            guard let ml = run("multilevel"), let rk2 = run("rk2") else { return ("", "incomplete") }
            return ("multi-level with RK2 on the finer levels reaches a lower error than plain multi-level",
                    "\(say(better(rk2, ml))) (RK2+ML \(String(format: "%.3f", rk2.testMetric)) vs ML \(String(format: "%.3f", ml.testMetric)))")
        default:
            return ("", "unknown experiment")
        }
    }

    /// A Markdown report of compare runs (their summary.json files), with the thesis's figures
    /// beside ours and a verdict per experiment.
    public static func markdown(runsByExperiment: [(experiment: String, scale: String, runs: [RunSummary])]) -> String {
        var out = ["| experiment | variant | scale (ours) | thesis metric | our metric | thesis time | our time | our saving vs deep |",
                   "|---|---|---|---|---|---|---|---|"]
        var verdicts: [String] = []
        for group in runsByExperiment {
            let deep = group.runs.first { $0.variant == "deep" }
            for s in group.runs {
                let thesis = figures[group.experiment]?[s.variant]
                let accuracy = s.testMetricName == "test accuracy"
                let ours = accuracy ? String(format: "%.2f %%", 100 * s.testMetric) : String(format: "%.3f (error norm)", s.testMetric)
                let theirs = thesis?.metric.map { accuracy ? String(format: "%.2f %%", $0) : String(format: "%.3f", $0) } ?? "–"
                let theirTime = thesis?.seconds.map { String(format: "%.0f s (GPU)", $0) } ?? "–"
                let saving = deep.flatMap { d in s.variant == "deep" ? nil : String(format: "%+.1f %%", 100 * (d.trainSeconds - s.trainSeconds) / d.trainSeconds) } ?? "–"
                out.append("| \(group.experiment) | \(s.variant) | \(group.scale) | \(theirs) | \(ours) | \(theirTime) | \(String(format: "%.2f s", s.trainSeconds)) | \(saving) |")
            }
            let v = verdict(experiment: group.experiment, runs: group.runs)
            verdicts.append("- **\(group.experiment)** — \(v.claim): **\(v.verdict)**.")
        }
        return (out + [""] + verdicts).joined(separator: "\n")
    }
}
