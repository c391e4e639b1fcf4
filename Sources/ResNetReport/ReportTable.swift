import Foundation
import ResNetTraining

/// Text renderings of epochs and summaries for the terminal and reports.
public enum ReportTable {
    public static func epochLine(_ r: EpochRecord, epochs: Int) -> String {
        String(format: "epoch %d/%d  level %d  blocks %@  h %g  %@  loss %.5f  %@  %@  %.0f samples/s",
               r.epoch, epochs, r.level, r.blocks.map(String.init).joined(separator: ","), r.h,
               r.integrator, r.trainLoss, metricCell(r), seconds(r.epochSeconds), r.samplesPerSecond)
    }

    /// "acc 91.14%" or "err 1.5432": an epoch's test metric, short.
    public static func metricCell(_ r: EpochRecord) -> String {
        r.testMetricName.isAccuracy ? String(format: "acc %.2f%%", r.testMetric * 100) : String(format: "err %.4f", r.testMetric)
    }

    /// A duration with the digits that matter: "12.3s", "0.42s", "4.1ms" (a regression epoch takes
    /// milliseconds, which two decimals of a second would show as 0.00s).
    public static func seconds(_ s: Double) -> String {
        if s >= 10 { return String(format: "%.1fs", s) }
        if s >= 0.1 { return String(format: "%.2fs", s) }
        return String(format: "%.1fms", s * 1000)
    }

    /// "1 rank", "4 ranks".
    public static func ranks(_ n: Int) -> String { n == 1 ? "1 rank" : "\(n) ranks" }

    public static func summaryLine(_ s: RunSummary) -> String {
        String(format: "%@/%@ on %@: final loss %.5f, %@ %@, %.2f s, peak RSS %.0f MB",
               s.experiment, s.variant, ranks(s.ranks), s.finalTrainLoss, s.testMetricName.rawValue, formatMetric(s),
               s.trainSeconds, Double(s.peakRSSBytes) / 1e6)
    }

    static func formatMetric(_ s: RunSummary) -> String {
        s.testMetricName.isAccuracy ? String(format: "%.2f%%", s.testMetric * 100) : String(format: "%.4f", s.testMetric)
    }

    /// One line saying what a comparison shows: the multi-level variant against the deep one (or
    /// the last variant against the first), each metric as mean ± spread over the seeds beside
    /// the trivial predictor's, and the training steps' time saved (the same figure as the
    /// table's "saving vs deep" column).
    public static func headline(_ runs: [RunSummary]) -> String? {
        let variants = SeededVariant.group(runs)
        guard let base = variants.first(where: { $0.variant == Experiment.deepVariant }) ?? variants.first,
              let other = variants.first(where: { $0.variant == Experiment.multilevelVariant }) ?? variants.last,
              other.variant != base.variant else { return nil }
        let accuracy = base.metricKind.isAccuracy
        func metric(_ v: SeededVariant) -> String {
            accuracy ? v.finalMetric.text(scale: 100) + " % test accuracy" : v.finalMetric.text(digits: 3) + " test error norm"
        }
        let trivial = base.runs.first?.trivialMetric.map {
            accuracy ? String(format: " (majority class %.1f %%)", 100 * $0) : String(format: " (mean predictor %.3g)", $0)
        } ?? ""
        let p = PairedComparison(other: other, base: base)
        let saving = p.saving.mean
        let time = String(format: "%.0f %% %@ training-step time", abs(100 * saving), saving >= 0 ? "less" : "more")
        let seeds = p.seeds.count
        return "\(other.variant): \(metric(other)); \(base.variant): \(metric(base))\(trivial) — \(other.variant) took \(time) (\(seeds) seed\(seeds == 1 ? "" : "s"))"
    }

    /// Per variant other than deep, its paired difference against deep for every seed:
    /// "multilevel − deep, per seed: s1 −1.06 points, time −18.9 %; s2 …".
    public static func perSeedDifferences(_ runs: [RunSummary]) -> [String] {
        let variants = SeededVariant.group(runs)
        guard let deep = variants.first(where: { $0.variant == Experiment.deepVariant }) else { return [] }
        return variants.filter { $0.variant != deep.variant }.compactMap { v in
            let p = PairedComparison(other: v, base: deep)
            guard !p.seeds.isEmpty else { return nil }
            let accuracy = v.metricKind.isAccuracy
            let cells = zip(p.seeds, zip(p.gains, p.savings)).map { seed, pair in
                let gain = accuracy ? String(format: "%+.2f points", 100 * pair.0)
                    : String(format: "error norm %.3f %@", abs(pair.0), pair.0 >= 0 ? "lower" : "higher")
                return "s\(seed) \(gain), time saved \(String(format: "%+.1f %%", 100 * pair.1))"
            }
            return "\(v.variant) vs deep, per seed: " + cells.joined(separator: "; ")
        }
    }

    /// The metric against the trivial predictor's: "7.0 % of the mean predictor's norm" or
    /// "8.6× majority class" ("–" when unknown).
    static func versusTrivial(_ s: RunSummary) -> String {
        guard let t = s.trivialMetric, t > 0 else { return "–" }
        return s.testMetricName.isAccuracy ? String(format: "%.1f× majority class", s.testMetric / t)
            : String(format: "%.1f %% of mean predictor", 100 * s.testMetric / t)
    }

    /// The thesis-style comparison of variants (Markdown). Time in three columns: the whole run's
    /// wall time, its training steps and its test passes ("–" for runs that did not record them);
    /// the rest is level switches, checkpoints and bookkeeping. Training steps are counted as in
    /// every table and chart: each epoch at the lower decile of the runs' epochs of its kind (`EpochCosts`).
    public static func comparison(_ runs: [RunSummary]) -> String {
        let deep = runs.first(where: \.isDeepBaseline)
        let costs = EpochCosts(runs)
        var lines = [
            "| variant | blocks | final train loss | \(runs.first?.testMetricName.rawValue ?? "test metric") | wall time (s) | training steps (s) | evaluation (s) | steps per level (s) | peak RSS per rank (MB) | saving vs deep | vs trivial predictor |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in runs {
            let saving: String
            if let deep, !s.isDeepBaseline, deep.trainSeconds > 0 {
                saving = String(format: "%+.1f%%", 100 * costs.saving(s, versus: deep))
            } else {
                saving = "–"
            }
            let perLevel = costs.levelSeconds(s).map { String(format: "%.2f", $0) }.joined(separator: " / ")
            let evaluation = s.evalSeconds.map { String(format: "%.2f", $0) } ?? "–"
            lines.append(String(format: "| %@ | %@ | %.5f | %@ | %.2f | %.2f | %@ | %@ | %.0f | %@ | %@ |",
                                s.variant, s.finalBlocks.map(String.init).joined(separator: ","), s.finalTrainLoss,
                                formatMetric(s), s.trainSeconds, costs.trainingSeconds(s), evaluation, perLevel, Double(s.peakRSSBytes) / 1e6, saving,
                                versusTrivial(s)))
        }
        return lines.joined(separator: "\n")
    }
}
