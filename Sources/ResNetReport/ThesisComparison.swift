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
        /// At the thesis's settings the claim holds and our mean figures are within tolerance of the thesis's.
        case reproduced
        /// The claim holds (its interval lies on the right side of the tolerance, and any time
        /// saving is positive for every seed), but not at the thesis's literal settings, or our
        /// figures differ from the thesis's.
        case holds = "holds"
        /// The interval lies on the wrong side of the tolerance, or the time saving is negative for every seed.
        case refuted
        /// The interval straddles the tolerance, the time saving changes sign between seeds, or
        /// there is only one seed (no interval): the runs cannot tell.
        case undecided
        /// Reduced or modified runs, or networks that did not learn: nothing follows either way.
        case notComparable = "not comparable"
        case incomplete
    }

    /// A verdict with its claim and the figures behind it.
    public struct Verdict {
        public let claim: String
        public let outcome: Outcome
        public let detail: String
        /// The number of seeds the verdict rests on (paired runs).
        public let seeds: Int

        /// "<claim>: **holds** (3 seeds; …)".
        public var line: String {
            "\(claim): \(outcome.rawValue) (\(seeds) seed\(seeds == 1 ? "" : "s"); \(detail))"
        }
    }

    /// Accuracy within one percentage point of the thesis's figure counts as matching it, and
    /// a multi-level or RK2 network within one point of the baseline as reaching its accuracy.
    public static let accuracyTolerance = 0.01

    /// The goal of `fashion-fast`: at most 0.3 accuracy points under deep, at least 35 % less time.
    static let fastTolerance = 0.003, fastSaving = 0.35

    /// How far below the baseline a variant may be and still count as reaching its quality:
    /// one accuracy point, or for an error norm 25 % of the baseline's mean norm (at least 0.25:
    /// a fitted network's norm varies that much from seed to seed).
    static func tolerance(_ base: SeededVariant) -> Double {
        base.metricKind.isAccuracy ? accuracyTolerance : max(0.25, 0.25 * base.finalMetric.mean)
    }

    static func format(_ value: Double, _ kind: MetricKind) -> String {
        kind.isAccuracy ? String(format: "%.2f %%", 100 * value) : String(format: "%.3f", value)
    }

    static func format(_ v: SeededVariant) -> String {
        v.metricKind.isAccuracy ? v.finalMetric.text(scale: 100) + " %" : v.finalMetric.text(digits: 3)
    }

    /// Whether a variant's mean metric is within tolerance of the thesis's figure (true when the
    /// thesis gives none). Error norms: within a factor of two — the thesis reports one run.
    static func matchesThesis(_ v: SeededVariant, experiment: String) -> Bool {
        guard let figure = figures[experiment]?[v.variant]?.metric else { return true }
        let mean = v.finalMetric.mean
        if v.metricKind.isAccuracy { return abs(100 * mean - figure) <= 100 * accuracyTolerance }
        return mean <= 2 * figure && mean >= figure / 2
    }

    /// The interval rule, the one every report uses. `gains` are per seed how much better the
    /// variant is than its baseline (positive = better); the claim needs the gain to be at least
    /// `margin` (negative: "within this much of the baseline").
    ///
    /// - holds: the 95 % interval of the mean gain lies at or above `margin`, and (when `savings`
    ///   are given) the time saving is positive for every seed;
    /// - refuted: the interval lies below `margin`, or the time saving is negative for every seed;
    /// - undecided: otherwise, and always with fewer than two seeds (no interval).
    public static func decide(gains: [Double], margin: Double, savings: [Double]?) -> Outcome {
        let sample = SeedSample(gains)
        if let savings, !savings.isEmpty, savings.allSatisfy({ $0 < 0 }), sample.count >= 2 { return .refuted }
        guard let ci = sample.interval else { return .undecided }
        if ci.upper < margin { return .refuted }
        let timeOK = savings.map { $0.allSatisfy { $0 > 0 } } ?? true
        return ci.lower >= margin && timeOK ? .holds : .undecided
    }

    /// "accuracy multilevel − deep −1.06 points (worse on average, 95 % interval [−2.31, +0.19];
    /// needs ≥ −1.00 points)", or for error norms "error norm deep − multilevel …" (positive:
    /// the variant's error is lower).
    static func gainText(_ p: PairedComparison, margin: Double) -> String {
        let accuracy = p.other.metricKind.isAccuracy
        let scale = accuracy ? 100.0 : 1.0
        let unit = accuracy ? " points" : ""
        let name = accuracy ? "accuracy \(p.other.variant) − \(p.base.variant)" : "error norm \(p.base.variant) − \(p.other.variant)"
        let mean = String(format: "%+.2f", scale * p.gain.mean)
        let interval = p.gain.intervalText(scale: scale).map { ", 95 % interval \($0)" } ?? ", no interval"
        let word = p.gain.mean >= 0 ? "better" : "worse"
        return "\(name) \(mean)\(unit) (\(p.other.variant) \(word) on average\(interval); needs ≥ \(String(format: "%+.2f", scale * margin))\(unit))"
    }

    static func savingText(_ p: PairedComparison) -> String {
        let s = p.saving
        let range = s.count >= 2 ? String(format: ", %+.1f … %+.1f %%", 100 * s.minimum, 100 * s.maximum) : ""
        return String(format: "training-step time saved %+.1f %%", 100 * s.mean) + range
    }

    /// The claim each experiment makes, and what our runs say about it. `runs` may hold several
    /// seeds per variant; they are paired by seed and judged by `decide`.
    ///
    /// - reduced or modified runs: not comparable;
    /// - a run whose network did not learn (error norm above 15 % of the mean predictor's, or
    ///   accuracy under five times the majority class's): not comparable — a saving at equal uselessness is none;
    /// - otherwise `decide`; a claim that holds is "reproduced" when every run used the thesis's
    ///   settings and the mean figures match the thesis's.
    public static func verdict(experiment: String, runs: [RunSummary]) -> Verdict {
        let variants = SeededVariant.group(runs)
        func variant(_ v: String) -> SeededVariant? { variants.first { $0.variant == v } }
        let claim: String
        let involved: [SeededVariant]
        let outcome: Outcome
        let detail: String
        let seeds: Int
        switch experiment {
        case "fashion-fast":
            claim = "the fast multi-level schedule reaches deep's accuracy (within 0.3 points) in at most 0.65× deep's training-step time"
            guard let deep = variant("deep"), let ml = variant("multilevel") else {
                return Verdict(claim: claim, outcome: .incomplete, detail: "needs the deep and multilevel runs", seeds: 0)
            }
            involved = [deep, ml]
            let p = PairedComparison(other: ml, base: deep)
            let margin = -fastTolerance
            seeds = p.seeds.count
            // A saving counts only from 35 %: decide's "positive for every seed" on saving − 0.35.
            outcome = decide(gains: p.gains, margin: margin, savings: p.savings.map { $0 - fastSaving })
            detail = "\(gainText(p, margin: margin)); \(savingText(p)) (needs ≥ +35 % for every seed)"
        case "regression", "fashion", "cifar":
            claim = "multi-level reaches the deep network's test metric in less training time than the deep network"
            guard let deep = variant("deep"), let ml = variant("multilevel") else {
                return Verdict(claim: claim, outcome: .incomplete, detail: "needs the deep and multilevel runs", seeds: 0)
            }
            involved = [deep, ml]
            let p = PairedComparison(other: ml, base: deep)
            let margin = -tolerance(deep)
            seeds = p.seeds.count
            outcome = decide(gains: p.gains, margin: margin, savings: p.savings)
            detail = "\(gainText(p, margin: margin)); \(savingText(p))"
        case "rk2-regression":
            claim = "midpoint RK2 blocks fit far better than Euler blocks (error norm 0.439 vs 9.792)"
            guard let euler = variant("deep"), let rk2 = variant("rk2") else {
                return Verdict(claim: claim, outcome: .incomplete, detail: "needs the deep and rk2 runs", seeds: 0)
            }
            involved = [rk2]   // the claim is that Euler does *not* fit: only RK2 must have learned
            // The thesis's gap is 22×; count it at half the error or better: gain 0.5·Euler − RK2 > 0.
            let p = PairedComparison(other: rk2, base: euler)
            let halved = zip(p.gains, p.seeds).map { gain, seed in
                gain - 0.5 * (euler.runs[euler.seeds.firstIndex(of: seed)!].testMetric)
            }
            seeds = p.seeds.count
            outcome = decide(gains: halved, margin: 0, savings: nil)
            let ci = SeedSample(halved).intervalText(digits: 3).map { ", 95 % interval of ½·Euler − RK2 \($0)" } ?? ", no interval"
            detail = "RK2 \(format(rk2)) vs Euler \(format(euler))\(ci); needs > 0"
        case "rk2-fashion":
            claim = "RK2 blocks match Euler blocks' accuracy (91.50 % vs 91.47 %)"
            guard let euler = variant("deep"), let rk2 = variant("rk2") else {
                return Verdict(claim: claim, outcome: .incomplete, detail: "needs the deep and rk2 runs", seeds: 0)
            }
            involved = [euler, rk2]
            let p = PairedComparison(other: rk2, base: euler)
            let margin = -tolerance(euler)
            seeds = p.seeds.count
            outcome = decide(gains: p.gains, margin: margin, savings: nil)
            detail = "RK2 \(format(rk2)) vs Euler \(format(euler)): \(gainText(p, margin: margin))"
        case "rk2-multilevel":
            claim = "multi-level with RK2 on the finer levels reaches a lower error than plain multi-level"
            guard let ml = variant("multilevel"), let rk2 = variant("rk2") else {
                return Verdict(claim: claim, outcome: .incomplete, detail: "needs the multilevel and rk2 runs", seeds: 0)
            }
            involved = [rk2]
            let p = PairedComparison(other: rk2, base: ml)
            seeds = p.seeds.count
            outcome = decide(gains: p.gains, margin: 0, savings: nil)
            detail = "RK2+ML \(format(rk2)) vs ML \(format(ml)): \(gainText(p, margin: 0))"
        default:
            return Verdict(claim: "", outcome: .incomplete, detail: "unknown experiment \(experiment)", seeds: 0)
        }
        let scales = Set(runs.map { $0.scale ?? .modified })
        if scales == [.beyond] { return Verdict(claim: claim, outcome: outcome, detail: "at \(RunScale.beyond.phrase); \(detail)", seeds: seeds) }
        if let worst = [RunScale.reduced, .modified].first(where: scales.contains) {
            return Verdict(claim: claim, outcome: .notComparable, detail: "\(worst.phrase); \(detail)", seeds: seeds)
        }
        if let idle = involved.flatMap(\.runs).first(where: { $0.learned != true }) {
            let trivial = idle.trivialMetric.map { idle.testMetricName.isAccuracy
                ? String(format: "majority class %.1f %%", 100 * $0) : String(format: "mean predictor %.2f", $0) } ?? "no baseline recorded"
            return Verdict(claim: claim, outcome: .notComparable,
                           detail: "the \(idle.variant) network of seed \(idle.seed ?? 1) did not learn (\(format(idle.testMetric, idle.testMetricName)), \(trivial)); \(detail)",
                           seeds: seeds)
        }
        let at = scales.contains(.reading) ? RunScale.reading.phrase : RunScale.thesis.phrase
        guard outcome == .holds else { return Verdict(claim: claim, outcome: outcome, detail: "at \(at); \(detail)", seeds: seeds) }
        if scales.contains(.reading) {
            return Verdict(claim: claim, outcome: .holds, detail: "at \(RunScale.reading.phrase), not the thesis's literal settings; \(detail)", seeds: seeds)
        }
        if let off = variants.first(where: { !matchesThesis($0, experiment: experiment) }) {
            return Verdict(claim: claim, outcome: .holds,
                           detail: "the claim holds but our \(off.variant) figure \(format(off)) is outside the tolerance of the thesis's; \(detail)", seeds: seeds)
        }
        return Verdict(claim: claim, outcome: .reproduced, detail: detail, seeds: seeds)
    }

    /// A Markdown report of compare runs (their summary.json files, any number of seeds per
    /// variant): the thesis's figures beside our mean ± spread, time to target, and a verdict per
    /// experiment. `targets` overrides `MetricTarget`'s default per experiment.
    public static func markdown(runsByExperiment: [(experiment: String, scale: String, runs: [RunSummary])],
                                targets: [String: Double] = [:]) -> String {
        var out: [String] = []
        var verdicts: [String] = []
        for group in runsByExperiment {
            let kind = group.runs.first?.testMetricName ?? .accuracy
            let target = targets[group.experiment] ?? MetricTarget.defaultTarget(experiment: group.experiment, metric: kind)
            let table = SeedTable(variants: SeededVariant.group(group.runs), target: target)
            // The seed table's columns with the experiment, our scale and the thesis's figures
            // beside the ones they compare with.
            let h = table.header
            let header = ["experiment", h[0], "scale (ours)", h[1], "thesis metric", h[2], h[3], "thesis time", h[4], h[5], h[6], h[7]]
            let rows = table.rows.enumerated().map { i, r -> [String] in
                let thesis = figures[group.experiment]?[table.variants[i].variant]
                let theirs = thesis?.metric.map { kind.isAccuracy ? String(format: "%.2f %%", $0) : String(format: "%.3f", $0) } ?? "–"
                let theirTime = thesis?.seconds.map { String(format: "%.0f s (GPU)", $0) } ?? "–"
                return [group.experiment, r[0], group.scale, r[1], theirs, r[2], r[3], theirTime, r[4], r[5], r[6], r[7]]
            }
            if !out.isEmpty { out.append("") }
            out.append(SeedTable.markdown(header: header, rows: rows))
            let v = verdict(experiment: group.experiment, runs: group.runs)
            verdicts.append("- **\(group.experiment)** — \(v.claim): **\(v.outcome.rawValue)** (\(v.seeds) seed\(v.seeds == 1 ? "" : "s"); \(v.detail)).")
        }
        return (out + ["", SeedTable.footnote, ""] + verdicts).joined(separator: "\n")
    }
}
