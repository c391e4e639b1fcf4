import Foundation
import ResNetTraining

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

    /// A verdict on one of the thesis's claims.
    public enum Outcome: String, Sendable {
        /// At the thesis's settings, the claim holds and our figures are within tolerance of the thesis's.
        case reproduced
        /// The claim holds at full scale, but not at the thesis's literal settings, or our figures
        /// differ from the thesis's.
        case holds = "holds"
        /// At full scale, with networks that learned, the claim does not hold.
        case refuted
        /// Reduced or modified runs, or networks that did not learn: nothing follows either way.
        case notComparable = "not comparable"
        case incomplete
    }

    /// Accuracy within one percentage point of the thesis's figure counts as matching it.
    public static let accuracyTolerance = 0.01

    /// Two runs' metrics are comparable: accuracies within one point; error norms within 25 %
    /// of the larger or 0.25 absolute (a fitted network's norm varies that much from seed to seed).
    static func comparable(_ a: RunSummary, _ b: RunSummary) -> Bool {
        a.testMetricName.isAccuracy ? abs(a.testMetric - b.testMetric) <= accuracyTolerance
            : abs(a.testMetric - b.testMetric) <= max(0.25, 0.25 * max(a.testMetric, b.testMetric))
    }

    static func better(_ a: RunSummary, _ b: RunSummary) -> Bool {
        a.testMetricName.isBetter(a.testMetric, than: b.testMetric)
    }

    static func format(_ s: RunSummary) -> String {
        s.testMetricName.isAccuracy ? String(format: "%.2f %%", 100 * s.testMetric) : String(format: "%.3f", s.testMetric)
    }

    /// Whether a run's metric is within tolerance of the thesis's figure (true when the thesis
    /// gives none). Error norms: within a factor of two — the thesis reports one run.
    static func matchesThesis(_ s: RunSummary) -> Bool {
        guard let figure = figures[s.experiment]?[s.variant]?.metric else { return true }
        if s.testMetricName.isAccuracy { return abs(100 * s.testMetric - figure) <= 100 * accuracyTolerance }
        return s.testMetric <= 2 * figure && s.testMetric >= figure / 2
    }

    /// The claim each experiment makes, and what our runs say about it.
    ///
    /// - reduced or modified runs: not comparable;
    /// - a run whose network did not learn (error norm above 15 % of the mean predictor's, or
    ///   accuracy under five times chance): not comparable — a saving at equal uselessness is none;
    /// - otherwise the claim is checked: it fails → refuted; it holds → reproduced when every run
    ///   used the thesis's settings and matches the thesis's figure, else "holds" with the reason.
    public static func verdict(experiment: String, runs: [RunSummary]) -> (claim: String, outcome: Outcome, detail: String) {
        func run(_ v: String) -> RunSummary? { runs.first { $0.variant == v } }
        let claim: String
        let involved: [RunSummary]
        let holds: Bool
        var detail: String
        switch experiment {
        case "regression", "fashion", "cifar":
            claim = "multi-level reaches the deep network's test metric in less time than training the deep network"
            guard let deep = run("deep"), let ml = run("multilevel") else { return (claim, .incomplete, "needs the deep and multilevel runs") }
            involved = [deep, ml]
            let metricOK = better(ml, deep) || comparable(ml, deep)
            // A saving within timing noise does not count: at least 5 % of the deep run's time.
            let saving = ml.timeSaving(versus: deep)
            holds = metricOK && saving >= 0.05
            detail = "multilevel \(format(ml)) vs deep \(format(deep)) (\(metricOK ? "comparable or better" : "worse")), time \(String(format: "%+.1f %%", -100 * saving))"
        case "rk2-regression":
            claim = "midpoint RK2 blocks fit far better than Euler blocks (error norm 0.439 vs 9.792)"
            guard let euler = run("deep"), let rk2 = run("rk2") else { return (claim, .incomplete, "needs the deep and rk2 runs") }
            involved = [rk2]   // the claim is that Euler does *not* fit: only RK2 must have learned
            // The thesis's gap is 22×; count it at half the error or better.
            holds = rk2.testMetric <= 0.5 * euler.testMetric
            detail = "RK2 \(format(rk2)) vs Euler \(format(euler))"
        case "rk2-fashion":
            claim = "RK2 blocks match Euler blocks' accuracy (91.50 % vs 91.47 %)"
            guard let euler = run("deep"), let rk2 = run("rk2") else { return (claim, .incomplete, "needs the deep and rk2 runs") }
            involved = [euler, rk2]
            holds = comparable(rk2, euler) || better(rk2, euler)
            detail = "RK2 \(format(rk2)) vs Euler \(format(euler))"
        case "rk2-multilevel":
            claim = "multi-level with RK2 on the finer levels reaches a lower error than plain multi-level"
            guard let ml = run("multilevel"), let rk2 = run("rk2") else { return (claim, .incomplete, "needs the multilevel and rk2 runs") }
            involved = [rk2]
            holds = better(rk2, ml) && !comparable(rk2, ml)
            detail = "RK2+ML \(format(rk2)) vs ML \(format(ml))"
        default:
            return ("", .incomplete, "unknown experiment \(experiment)")
        }
        let scales = Set(runs.map { $0.scale ?? .modified })
        if let worst = [RunScale.reduced, .modified].first(where: scales.contains) {
            return (claim, .notComparable, "\(worst.phrase); \(detail)")
        }
        if let idle = involved.first(where: { $0.learned != true }) {
            let trivial = idle.trivialMetric.map { idle.testMetricName.isAccuracy
                ? String(format: "chance %.1f %%", 100 * $0) : String(format: "mean predictor %.2f", $0) } ?? "no baseline recorded"
            return (claim, .notComparable, "the \(idle.variant) network did not learn (\(format(idle)), \(trivial)); \(detail)")
        }
        guard holds else { return (claim, .refuted, "at \(scales.contains(.reading) ? RunScale.reading.phrase : RunScale.thesis.phrase); \(detail)") }
        if scales.contains(.reading) { return (claim, .holds, "at \(RunScale.reading.phrase), not the thesis's literal settings; \(detail)") }
        if let off = runs.first(where: { !matchesThesis($0) }) {
            return (claim, .holds, "the claim holds but our \(off.variant) figure \(format(off)) is outside the tolerance of the thesis's; \(detail)")
        }
        return (claim, .reproduced, detail)
    }

    /// A Markdown report of compare runs (their summary.json files), with the thesis's figures
    /// beside ours and a verdict per experiment.
    public static func markdown(runsByExperiment: [(experiment: String, scale: String, runs: [RunSummary])]) -> String {
        var out = ["| experiment | variant | scale (ours) | thesis metric | our metric | thesis time | our time (training steps¹) | our saving vs deep |",
                   "|---|---|---|---|---|---|---|---|"]
        var verdicts: [String] = []
        for group in runsByExperiment {
            let deep = group.runs.first(where: \.isDeepBaseline)
            for s in group.runs {
                let thesis = figures[group.experiment]?[s.variant]
                let accuracy = s.testMetricName.isAccuracy
                let ours = accuracy ? String(format: "%.2f %%", 100 * s.testMetric) : String(format: "%.3f (error norm)", s.testMetric)
                let theirs = thesis?.metric.map { accuracy ? String(format: "%.2f %%", $0) : String(format: "%.3f", $0) } ?? "–"
                let theirTime = thesis?.seconds.map { String(format: "%.0f s (GPU)", $0) } ?? "–"
                let saving = deep.flatMap { d in s.isDeepBaseline ? nil : String(format: "%+.1f %%", 100 * s.timeSaving(versus: d)) } ?? "–"
                out.append("| \(group.experiment) | \(s.variant) | \(group.scale) | \(theirs) | \(ours) | \(theirTime) | \(String(format: "%.2f s", s.robustTrainingSeconds)) | \(saving) |")
            }
            let v = verdict(experiment: group.experiment, runs: group.runs)
            verdicts.append("- **\(group.experiment)** — \(v.claim): **\(v.outcome.rawValue)** (\(v.detail)).")
        }
        let note = "¹ Per level, the epochs times the median epoch time of the training steps: robust to stalls from other jobs on a shared machine; evaluation, checkpoints and the level switch excluded."
        return (out + ["", note, ""] + verdicts).joined(separator: "\n")
    }
}
