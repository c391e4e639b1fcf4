import Foundation
import ResNetTraining

/// Text renderings of epochs and summaries for the terminal and reports.
public enum ReportTable {
    public static func epochLine(_ r: EpochRecord, epochs: Int) -> String {
        let metric = r.testMetricName.isAccuracy
            ? String(format: "acc %.2f%%", r.testMetric * 100)
            : String(format: "err %.4f", r.testMetric)
        return String(format: "epoch %d/%d  level %d  blocks %@  h %g  %@  loss %.5f  %@  %.2fs  %.0f samples/s",
                      r.epoch, epochs, r.level, r.blocks.map(String.init).joined(separator: ","), r.h,
                      r.integrator, r.trainLoss, metric, r.epochSeconds, r.samplesPerSecond)
    }

    public static func summaryLine(_ s: RunSummary) -> String {
        String(format: "%@/%@ on %d ranks: final loss %.5f, %@ %@, %.2f s, peak RSS %.0f MB",
               s.experiment, s.variant, s.ranks, s.finalTrainLoss, s.testMetricName.rawValue, formatMetric(s),
               s.trainSeconds, Double(s.peakRSSBytes) / 1e6)
    }

    static func formatMetric(_ s: RunSummary) -> String {
        s.testMetricName.isAccuracy ? String(format: "%.2f%%", s.testMetric * 100) : String(format: "%.4f", s.testMetric)
    }

    /// One line saying what a comparison shows: the multi-level run against the deep one (or
    /// the last variant against the first), each metric beside the trivial predictor's, and the
    /// difference in training time.
    public static func headline(_ runs: [RunSummary]) -> String? {
        guard let base = runs.first(where: \.isDeepBaseline) ?? runs.first,
              let other = runs.first(where: { $0.variant == Experiment.multilevelVariant }) ?? runs.last,
              other.variant != base.variant else { return nil }
        let accuracy = base.testMetricName.isAccuracy
        func metric(_ s: RunSummary) -> String {
            accuracy ? String(format: "%.2f %% test accuracy", 100 * s.testMetric) : String(format: "%.3g test error norm", s.testMetric)
        }
        let trivial = base.trivialMetric.map {
            accuracy ? String(format: " (chance %.1f %%)", 100 * $0) : String(format: " (mean predictor %.3g)", $0)
        } ?? ""
        let saving = other.timeSaving(versus: base)
        let time = String(format: "%.0f %% %@ time", abs(100 * saving), saving >= 0 ? "less" : "more")
        return String(format: "%@: %@%@ in %.1f s; %@: %@ in %.1f s — %@",
                      other.variant, metric(other), trivial, other.trainSeconds, base.variant, metric(base),
                      base.trainSeconds, time)
    }

    /// The metric against the trivial predictor's: "7.0 % of the mean predictor's norm" or
    /// "8.6× chance" ("–" when unknown).
    static func versusTrivial(_ s: RunSummary) -> String {
        guard let t = s.trivialMetric, t > 0 else { return "–" }
        return s.testMetricName.isAccuracy ? String(format: "%.1f× chance", s.testMetric / t)
            : String(format: "%.1f %% of mean predictor", 100 * s.testMetric / t)
    }

    /// The thesis-style comparison of variants (Markdown). Time in three columns: the whole run's
    /// wall time, its training steps and its test passes ("–" for runs that did not record them);
    /// the rest is level switches, checkpoints and bookkeeping.
    public static func comparison(_ runs: [RunSummary]) -> String {
        let deep = runs.first(where: \.isDeepBaseline)
        var lines = [
            "| variant | blocks | final train loss | \(runs.first?.testMetricName.rawValue ?? "test metric") | wall time (s) | training steps (s) | evaluation (s) | steps per level (s) | peak RSS per rank (MB) | saving vs deep | vs trivial predictor |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in runs {
            let saving: String
            if let deep, !s.isDeepBaseline, deep.trainSeconds > 0 {
                saving = String(format: "%+.1f%%", 100 * s.timeSaving(versus: deep))
            } else {
                saving = "–"
            }
            let perLevel = s.levelSeconds.map { String(format: "%.2f", $0) }.joined(separator: " / ")
            let evaluation = s.evalSeconds.map { String(format: "%.2f", $0) } ?? "–"
            lines.append(String(format: "| %@ | %@ | %.5f | %@ | %.2f | %.2f | %@ | %@ | %.0f | %@ | %@ |",
                                s.variant, s.finalBlocks.map(String.init).joined(separator: ","), s.finalTrainLoss,
                                formatMetric(s), s.trainSeconds, s.stepSeconds, evaluation, perLevel, Double(s.peakRSSBytes) / 1e6, saving,
                                versusTrivial(s)))
        }
        return lines.joined(separator: "\n")
    }
}
