import Foundation
import ResNetTraining

/// The seed thesis's reported figures, per experiment and variant, and the claims its experiments
/// make — what `launch/replicate` compares our runs with.
public enum ThesisComparison {
    /// The thesis's figure for a variant of an experiment, if it gives one.
    public static func figure(_ experiment: String, _ variant: String) -> ThesisFigure? {
        Experiment.named(experiment)?.thesisFigures[variant]
    }

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
        guard let figure = figure(experiment, v.variant)?.metric else { return true }
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

    /// "; ≈ 23 seeds would decide it at this spread" for an undecided claim whose accuracy
    /// interval straddles the margin; empty otherwise.
    static func decisionText(_ outcome: Outcome, _ gains: [Double], _ margin: Double) -> String {
        guard outcome == .undecided, let text = SeedSample(gains).seedsToDecideText(margin) else { return "" }
        return "; " + text
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
        guard let claim = Experiment.named(experiment)?.claim else {
            return Verdict(claim: "", outcome: .incomplete, detail: "unknown experiment \(experiment)", seeds: 0)
        }
        guard let base = variants.first(where: { $0.variant == claim.base }),
              let candidate = variants.first(where: { $0.variant == claim.candidate }) else {
            return Verdict(claim: claim.text, outcome: .incomplete, detail: "needs the \(claim.base) and \(claim.candidate) runs", seeds: 0)
        }
        let p = PairedComparison(other: candidate, base: base)
        let seeds = p.seeds.count
        // Only the networks the claim needs must have learned.
        let involved = claim.baseMustLearn ? [base, candidate] : [candidate]
        let versus = "\(candidate.variant) \(format(candidate)) vs \(base.variant) \(format(base))"
        let outcome: Outcome
        let detail: String
        var decision = ""   // how many seeds would decide an undecided accuracy interval: said only when judged
        switch claim.test {
        case .fasterAtEqualMetric(let minimumSaving):
            let margin = -(base.metricKind.isAccuracy ? claim.accuracyTolerance ?? tolerance(base) : tolerance(base))
            // A saving counts from `minimumSaving`: decide's "positive for every seed" on saving − minimum.
            outcome = decide(gains: p.gains, margin: margin, savings: p.savings.map { $0 - minimumSaving })
            let needed = minimumSaving > 0 ? String(format: " (needs ≥ %+.0f %% for every seed)", 100 * minimumSaving) : ""
            detail = "\(gainText(p, margin: margin)); \(savingText(p))\(needed)"
            decision = decisionText(outcome, p.gains, margin)
        case .equalMetric:
            let margin = -(base.metricKind.isAccuracy ? claim.accuracyTolerance ?? tolerance(base) : tolerance(base))
            outcome = decide(gains: p.gains, margin: margin, savings: nil)
            detail = "\(versus): \(gainText(p, margin: margin))"
            decision = decisionText(outcome, p.gains, margin)
        case .errorFraction(let fraction):
            // The candidate's error at most `fraction` of the base's: gain fraction·base − candidate > 0.
            let gains = zip(p.gains, p.seeds).map { gain, seed in
                gain - (1 - fraction) * base.runs[base.seeds.firstIndex(of: seed)!].testMetric
            }
            outcome = decide(gains: gains, margin: 0, savings: nil)
            let share = fraction == 0.5 ? "½" : String(format: "%g", fraction)
            let ci = SeedSample(gains).intervalText(digits: 3).map { ", 95 % interval of \(share)·\(base.variant) − \(candidate.variant) \($0)" } ?? ", no interval"
            detail = "\(versus)\(ci); needs > 0"
        case .lowerError:
            outcome = decide(gains: p.gains, margin: 0, savings: nil)
            detail = "\(versus): \(gainText(p, margin: 0))"
        }
        let scales = Set(runs.map { $0.scale ?? .modified })
        if scales == [.beyond] { return Verdict(claim: claim.text, outcome: outcome, detail: "at \(RunScale.beyond.phrase); \(detail)\(decision)", seeds: seeds) }
        if let worst = [RunScale.reduced, .modified].first(where: scales.contains) {
            return Verdict(claim: claim.text, outcome: .notComparable, detail: "\(worst.phrase); \(detail)", seeds: seeds)
        }
        if let idle = involved.flatMap(\.runs).first(where: { $0.learned != true }) {
            let trivial = idle.trivialMetric.map { idle.testMetricName.isAccuracy
                ? String(format: "majority class %.1f %%", 100 * $0) : String(format: "mean predictor %.2f", $0) } ?? "no baseline recorded"
            return Verdict(claim: claim.text, outcome: .notComparable,
                           detail: "the \(idle.variant) network of seed \(idle.seed ?? 1) did not learn (\(format(idle.testMetric, idle.testMetricName)), \(trivial)); \(detail)",
                           seeds: seeds)
        }
        let at = scales.contains(.reading) ? RunScale.reading.phrase : RunScale.thesis.phrase
        guard outcome == .holds else { return Verdict(claim: claim.text, outcome: outcome, detail: "at \(at); \(detail)\(decision)", seeds: seeds) }
        if scales.contains(.reading) {
            return Verdict(claim: claim.text, outcome: .holds, detail: "at \(RunScale.reading.phrase), not the thesis's literal settings; \(detail)", seeds: seeds)
        }
        if let off = variants.first(where: { !matchesThesis($0, experiment: experiment) }) {
            return Verdict(claim: claim.text, outcome: .holds,
                           detail: "the claim holds but our \(off.variant) figure \(format(off)) is outside the tolerance of the thesis's; \(detail)", seeds: seeds)
        }
        return Verdict(claim: claim.text, outcome: .reproduced, detail: detail, seeds: seeds)
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
                let thesis = figure(group.experiment, table.variants[i].variant)
                let theirs = thesis?.metric.map { kind.isAccuracy ? String(format: "%.2f %%", $0) : String(format: "%.3f", $0) } ?? "–"
                let theirTime = thesis?.seconds.map { String(format: "%.0f s (GPU)", $0) } ?? "–"
                return [group.experiment, r[0], group.scale, r[1], theirs, r[2], r[3], theirTime, r[4], r[5], r[6], r[7]]
            }
            if !out.isEmpty { out.append("") }
            out.append(SeedTable.markdown(header: header, rows: rows))
            let v = verdict(experiment: group.experiment, runs: group.runs)
            verdicts.append("- **\(group.experiment)** — \(v.claim): **\(v.outcome.rawValue)** (\(v.seeds) seed\(v.seeds == 1 ? "" : "s"); \(v.detail)).")
            if let note = machinesNote(experiment: group.experiment, runs: group.runs) { verdicts.append(note) }
        }
        return (out + ["", SeedTable.footnote, ""] + verdicts).joined(separator: "\n")
    }

    /// A line for an experiment whose runs come from more than one machine (`RunSummary.machine`;
    /// runs written before it was recorded count as one): their times differ by machine, so a
    /// time column's spread is partly the machines'; the savings pair each seed with its own deep.
    public static func machinesNote(experiment: String, runs: [RunSummary]) -> String? {
        var machines: [String] = []
        for run in runs {
            let name = run.machine ?? "a machine not recorded"
            if !machines.contains(name) { machines.append(name) }
        }
        guard machines.count > 1 else { return nil }
        return "- **\(experiment)**: its runs come from \(machines.count) machines (\(machines.joined(separator: "; "))). Training-step times compare within a machine, so a time column's ± is partly the machines' difference; each saving pairs a seed's run with deep's run of the same seed."
    }
}
