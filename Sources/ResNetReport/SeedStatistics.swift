import Foundation
import ResNetTraining

/// One figure measured over several seeds: its mean, its spread and a 95 % interval of the mean.
///
/// ```swift
/// let accuracy = SeedSample([0.9114, 0.9080, 0.9121])
/// accuracy.mean            // 0.9105
/// accuracy.interval        // (lower, upper) of the mean, Student's t with n − 1 degrees of freedom
/// ```
public struct SeedSample: Equatable, Sendable {
    public let values: [Double]

    public init(_ values: [Double]) { self.values = values }

    public var count: Int { values.count }
    public var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
    public var minimum: Double { values.min() ?? .nan }
    public var maximum: Double { values.max() ?? .nan }

    /// The sample standard deviation (n − 1); nil below two values.
    public var standardDeviation: Double? {
        guard count >= 2 else { return nil }
        let m = mean
        return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(count - 1)).squareRoot()
    }

    /// The 95 % confidence interval of the mean (Student's t); nil below two values.
    public var interval: (lower: Double, upper: Double)? {
        guard let sd = standardDeviation else { return nil }
        let half = Self.t975(degreesOfFreedom: count - 1) * sd / Double(count).squareRoot()
        return (mean - half, mean + half)
    }

    /// The lower decile by nearest rank: the ⌈n/10⌉-th smallest value (the least below 11 values).
    public var lowerDecile: Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s[max(0, (s.count + 9) / 10 - 1)]
    }

    public var median: Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// How many seeds the 95 % interval of the mean would need to lie wholly on one side of
    /// `threshold`, if more seeds kept this sample's mean and standard deviation: the least n ≥ 2
    /// with t₀.₉₇₅(n − 1) · sd / √n < |mean − threshold| (at most the current count when it already does).
    /// nil with fewer than two values, a mean on the threshold, or more than `limit` seeds needed.
    /// A planning figure, not a prediction: a few seeds estimate the spread loosely.
    public func seedsToClear(_ threshold: Double, limit: Int = 200) -> Int? {
        guard let sd = standardDeviation else { return nil }
        let distance = abs(mean - threshold)
        guard distance > 0, distance.isFinite else { return nil }
        for n in 2...max(2, limit) where Self.t975(degreesOfFreedom: n - 1) * sd / Double(n).squareRoot() < distance {
            return n
        }
        return nil
    }

    /// "≈ 23 seeds would decide it at this spread" while the 95 % interval still straddles
    /// `threshold` (nil once it lies on one side, or below two values): `seedsToClear` in words.
    public func seedsToDecideText(_ threshold: Double) -> String? {
        guard let ci = interval, ci.lower < threshold, ci.upper >= threshold else { return nil }
        if let n = seedsToClear(threshold) { return "≈ \(n) seeds would decide it at this spread" }
        return "more than 200 seeds would be needed to decide it at this spread"
    }

    /// The 0.975 quantile of Student's t distribution (two-sided 95 %).
    static func t975(degreesOfFreedom k: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        if k >= 1 && k <= table.count { return table[k - 1] }
        return 1.960 + 2.4 / Double(max(k, 1))   // within 0.002 of the true value past 30
    }

    /// "91.14 ± 0.35" (mean ± standard deviation) with `scale` applied, or the lone value.
    public func text(scale: Double = 1, digits: Int = 2) -> String {
        let m = String(format: "%.\(digits)f", scale * mean)
        guard let sd = standardDeviation else { return m }
        return m + " ± " + String(format: "%.\(digits)f", scale * sd)
    }

    /// "[-1.20, +0.35]" with `scale` applied; nil below two values.
    public func intervalText(scale: Double = 1, digits: Int = 2) -> String? {
        interval.map { String(format: "[%+.\(digits)f, %+.\(digits)f]", scale * $0.lower, scale * $0.upper) }
    }
}

/// The quality a run must reach for "time to target", per experiment: MLPerf training's way of
/// measuring speed (the training time until the test metric first reaches a fixed target).
public enum MetricTarget {
    /// The experiment's own (`Experiment.metricTarget`); for a name no experiment has, 90.5 %
    /// accuracy or an error norm of 1.0.
    public static func defaultTarget(experiment: String, metric: MetricKind) -> Double {
        Experiment.named(experiment)?.metricTarget ?? (metric.isAccuracy ? 0.905 : 1.0)
    }

    /// "90.50 %" or "error norm 1.000".
    public static func text(_ target: Double, metric: MetricKind) -> String {
        metric.isAccuracy ? String(format: "%.2f %%", 100 * target) : String(format: "error norm %.3f", target)
    }
}

extension RunSummary {
    /// The median of the test metric over the last `count` epochs (fewer when the run is shorter):
    /// less at the mercy of one epoch's swing than the final value.
    public func medianOfLast(_ count: Int = 10) -> Double {
        guard !history.isEmpty else { return testMetric }
        return SeedSample(history.suffix(count).map(\.testMetric)).median
    }

    /// The training steps' time until the test metric first reaches `target` (evaluated after each
    /// epoch), counted as `robustTrainingSeconds` counts it (this run's epochs alone). Nil when the
    /// run never reaches it.
    public func timeToTarget(_ target: Double) -> Double? { EpochCosts([self]).timeToTarget(self, target: target) }
}

/// The runs of one variant over several seeds.
public struct SeededVariant {
    public let variant: String
    /// One run per seed, in seed order.
    public let runs: [RunSummary]
    /// The epoch costs the times are counted with: pooled over every run of the comparison.
    public let costs: EpochCosts

    /// `costs` defaults to these runs' own epochs.
    public init(variant: String, runs: [RunSummary], costs: EpochCosts? = nil) {
        self.variant = variant
        self.runs = runs.sorted { ($0.seed ?? 0) < ($1.seed ?? 0) }
        self.costs = costs ?? EpochCosts(runs)
    }

    public var seeds: [Int] { runs.enumerated().map { $0.element.seed ?? $0.offset + 1 } }
    public var finalMetric: SeedSample { SeedSample(runs.map(\.testMetric)) }
    public var lastTenMedian: SeedSample { SeedSample(runs.map { $0.medianOfLast(10) }) }
    public var trainingSeconds: SeedSample { SeedSample(runs.map(costs.trainingSeconds)) }
    public var metricKind: MetricKind { runs.first?.testMetricName ?? .accuracy }

    /// Per seed the time to `target`, nil where the run never reached it.
    public func timesToTarget(_ target: Double) -> [Double?] { runs.map { costs.timeToTarget($0, target: target) } }

    /// Groups runs by variant (keeping the order in which variants first appear), their times
    /// counted with the epoch costs of all of them.
    public static func group(_ runs: [RunSummary]) -> [SeededVariant] {
        var order: [String] = []
        var byVariant: [String: [RunSummary]] = [:]
        for r in runs {
            if byVariant[r.variant] == nil { order.append(r.variant) }
            byVariant[r.variant, default: []].append(r)
        }
        let costs = EpochCosts(runs)
        return order.map { SeededVariant(variant: $0, runs: byVariant[$0]!, costs: costs) }
    }
}

/// Two variants compared seed by seed: the paired differences of their metrics and the time saved.
public struct PairedComparison {
    public let other: SeededVariant
    public let base: SeededVariant
    /// The seeds both variants ran.
    public let seeds: [Int]
    /// Per seed, how much better `other` is than `base`: accuracy other − base (a fraction),
    /// error norm base − other. Positive is better whatever the metric.
    public let gains: [Double]
    /// Per seed, the share of `base`'s training-step time `other` saved (negative: it took longer).
    public let savings: [Double]

    public init(other: SeededVariant, base: SeededVariant) {
        self.other = other
        self.base = base
        let mine = Dictionary(zip(other.seeds, other.runs), uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(zip(base.seeds, base.runs), uniquingKeysWith: { a, _ in a })
        let seeds = other.seeds.filter { theirs[$0] != nil }
        self.seeds = seeds
        let accuracy = other.metricKind.isAccuracy
        gains = seeds.map { s in
            accuracy ? mine[s]!.testMetric - theirs[s]!.testMetric : theirs[s]!.testMetric - mine[s]!.testMetric
        }
        // The pool both were grouped with, else one over the two variants' runs.
        let costs = other.costs.covers(base.runs) ? other.costs : EpochCosts(other.runs + base.runs)
        savings = seeds.map { costs.saving(mine[$0]!, versus: theirs[$0]!) }
    }

    public var gain: SeedSample { SeedSample(gains) }
    public var saving: SeedSample { SeedSample(savings) }
}

/// The table every report shows of a comparison over seeds, one row per variant: the figures'
/// mean ± standard deviation, time to target and the saving against deep. The terminal, the
/// HTML report and `results` all print these cells.
public struct SeedTable {
    public let variants: [SeededVariant]
    public let target: Double

    public init(variants: [SeededVariant], target: Double) {
        self.variants = variants
        self.target = target
    }

    public static let footnote = "Mean ± standard deviation over the seeds. Training steps: each epoch counted at the lower decile (the ⌈n/10⌉-th shortest) of the times of all epochs of the same work in these runs (same network shape, ranks and data: deep's epochs at 3 blocks with a multi-level run's at 3 blocks), robust to stalls from other jobs on a shared machine, which only ever lengthen an epoch, as long as a tenth of the epochs ran undisturbed; evaluation, checkpoints and level switches excluded; time to target counts the epochs the same way, up to the first evaluation at or past the target. Saving: per seed against deep's run of the same seed, mean and range."

    var kind: MetricKind { variants.first?.metricKind ?? .accuracy }

    public var header: [String] {
        let metric = kind.isAccuracy ? "test accuracy (%)" : "test error norm"
        return ["variant", "seeds", "final \(metric)", "median of last 10 epochs", "training steps (s)",
                "time to \(MetricTarget.text(target, metric: kind)) (s, median)", "saving vs deep", "vs trivial predictor"]
    }

    public var rows: [[String]] {
        let deep = variants.first { $0.variant == Experiment.deepVariant }
        let scale = kind.isAccuracy ? 100.0 : 1.0
        let digits = kind.isAccuracy ? 2 : 3
        return variants.map { v in
            let times = v.timesToTarget(target)
            let reached = times.compactMap { $0 }
            let toTarget: String
            if reached.isEmpty { toTarget = "never (0 of \(times.count))" }
            else {
                toTarget = Self.seconds(SeedSample(reached).median)
                    + (reached.count < times.count ? " (\(reached.count) of \(times.count) reached it)" : "")
            }
            var saving = "–"
            if let deep, v.variant != deep.variant {
                let p = PairedComparison(other: v, base: deep)
                if !p.savings.isEmpty {
                    saving = String(format: "%+.1f %%", 100 * p.saving.mean)
                    if p.savings.count >= 2 { saving += String(format: " (%+.1f … %+.1f)", 100 * p.saving.minimum, 100 * p.saving.maximum) }
                }
            }
            return [v.variant, v.seeds.map(String.init).joined(separator: ","),
                    v.finalMetric.text(scale: scale, digits: digits), v.lastTenMedian.text(scale: scale, digits: digits),
                    v.trainingSeconds.text(digits: Self.secondsDigits(v.trainingSeconds.mean)), toTarget, saving, versusTrivial(v)]
        }
    }

    /// Seconds with three significant digits or one decimal, whichever shows more (0.642, 12.4, 1282.0).
    static func secondsDigits(_ s: Double) -> Int { s < 1 ? 3 : s < 10 ? 2 : 1 }
    static func seconds(_ s: Double) -> String { String(format: "%.\(secondsDigits(s))f", s) }

    /// The mean metric against the trivial predictor's: "8.6× the majority class (10 %)" (always
    /// predicting the test set's most frequent class) or "7.0 % of the mean predictor" ("–" when unknown).
    func versusTrivial(_ v: SeededVariant) -> String {
        guard let t = v.runs.first?.trivialMetric, t > 0 else { return "–" }
        let m = v.finalMetric.mean
        return kind.isAccuracy ? String(format: "%.1f× the majority class (%.1f %%)", m / t, 100 * t)
            : String(format: "%.1f %% of mean predictor (%.2f)", 100 * m / t, t)
    }

    public var markdown: String { Self.markdown(header: header, rows: rows) }

    static func markdown(header: [String], rows: [[String]]) -> String {
        ([header, header.map { _ in "---" }] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}
