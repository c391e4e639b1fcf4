import Foundation

/// Text renderings of epochs and summaries for the terminal and reports.
public enum ReportTable {
    public static func epochLine(_ r: EpochRecord, epochs: Int) -> String {
        let metric = r.testMetricName == "test accuracy"
            ? String(format: "acc %.2f%%", r.testMetric * 100)
            : String(format: "err %.4f", r.testMetric)
        return String(format: "epoch %d/%d  level %d  blocks %@  h %g  %@  loss %.5f  %@  %.2fs  %.0f samples/s",
                      r.epoch, epochs, r.level, r.blocks.map(String.init).joined(separator: ","), r.h,
                      r.integrator, r.trainLoss, metric, r.epochSeconds, r.samplesPerSecond)
    }

    public static func summaryLine(_ s: RunSummary) -> String {
        String(format: "%@/%@ on %d ranks: final loss %.5f, %@ %@, %.2f s, peak RSS %.0f MB",
               s.experiment, s.variant, s.ranks, s.finalTrainLoss, s.testMetricName, formatMetric(s),
               s.trainSeconds, Double(s.peakRSSBytes) / 1e6)
    }

    static func formatMetric(_ s: RunSummary) -> String {
        s.testMetricName == "test accuracy" ? String(format: "%.2f%%", s.testMetric * 100) : String(format: "%.4f", s.testMetric)
    }

    /// The thesis-style comparison of variants (Markdown).
    public static func comparison(_ runs: [RunSummary]) -> String {
        let deep = runs.first { $0.variant == "deep" }
        var lines = [
            "| variant | blocks | final train loss | \(runs.first?.testMetricName ?? "test metric") | train time (s) | time per level (s) | peak RSS per rank (MB) | saving vs deep |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in runs {
            let saving: String
            if let deep, s.variant != "deep", deep.trainSeconds > 0 {
                saving = String(format: "%+.1f%%", 100 * (deep.trainSeconds - s.trainSeconds) / deep.trainSeconds)
            } else {
                saving = "–"
            }
            let perLevel = s.levelSeconds.map { String(format: "%.2f", $0) }.joined(separator: " / ")
            lines.append(String(format: "| %@ | %@ | %.5f | %@ | %.2f | %@ | %.0f | %@ |",
                                s.variant, s.finalBlocks.map(String.init).joined(separator: ","), s.finalTrainLoss,
                                formatMetric(s), s.trainSeconds, perLevel, Double(s.peakRSSBytes) / 1e6, saving))
        }
        return lines.joined(separator: "\n")
    }
}
