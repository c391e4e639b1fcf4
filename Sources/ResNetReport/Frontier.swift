import Foundation
import ResNetTraining

/// Time saved against accuracy lost: every variant of an accuracy experiment set against that
/// experiment's deep network, paired by seed. `results --charts` draws it as `frontier.svg` and
/// prints it as a table, so the schedules tried sit on one picture beside the goal of a claim
/// that asks for a saving (fashion-fast's "at most 0.65× the time, within 0.3 points").
public struct FrontierPoint {
    public let experiment: String
    public let variant: String
    public let seeds: [Int]
    /// Per seed, the variant's training-step time as a fraction of deep's (1 − saving).
    public let timeRatios: [Double]
    /// Per seed, the variant's accuracy minus deep's, in points.
    public let gains: [Double]
    /// The accuracy of "time to target", and per seed the variant's time to it over deep's (nil
    /// where either never reached it).
    public var target: Double = .nan
    public var targetRatios: [Double?] = []
    /// The scale least like the experiment's own among the runs (reduced or modified settings
    /// decide nothing, as in the verdicts); nil when unknown.
    public var reducedScale: RunScale? = nil

    public var label: String { "\(experiment): \(variant)" }
    public var time: SeedSample { SeedSample(timeRatios) }
    public var gain: SeedSample { SeedSample(gains) }
}

/// A claim's corner of the frontier: at most `timeRatio` of deep's time and at least `gain` points.
public struct FrontierGoal: Equatable {
    public let experiment: String
    public let timeRatio: Double
    public let gain: Double
}

public enum Frontier {
    /// The points of every accuracy experiment that has a deep variant, in the order given;
    /// `targets` overrides an experiment's target accuracy for time to target.
    public static func points(_ groups: [(experiment: String, runs: [RunSummary])],
                              targets: [String: Double] = [:]) -> [FrontierPoint] {
        groups.flatMap { group -> [FrontierPoint] in
            guard group.runs.first?.testMetricName.isAccuracy == true else { return [] }
            let variants = SeededVariant.group(group.runs)
            guard let deep = variants.first(where: { $0.variant == Experiment.deepVariant }) else { return [] }
            return variants.filter { $0.variant != deep.variant }.compactMap { v in
                let p = PairedComparison(other: v, base: deep)
                guard !p.seeds.isEmpty else { return nil }
                let target = targets[group.experiment] ?? MetricTarget.defaultTarget(experiment: group.experiment, metric: .accuracy)
                let mine = Dictionary(zip(v.seeds, v.timesToTarget(target)), uniquingKeysWith: { a, _ in a })
                let deeps = Dictionary(zip(deep.seeds, deep.timesToTarget(target)), uniquingKeysWith: { a, _ in a })
                var point = FrontierPoint(experiment: group.experiment, variant: v.variant, seeds: p.seeds,
                                          timeRatios: p.savings.map { 1 - $0 }, gains: p.gains.map { 100 * $0 })
                point.target = target
                let scales = Set((v.runs + deep.runs).map { $0.scale ?? .modified })
                point.reducedScale = [RunScale.reduced, .modified].first(where: scales.contains)
                point.targetRatios = p.seeds.map { s in
                    guard let a = mine[s] ?? nil, let b = deeps[s] ?? nil, b > 0 else { return nil }
                    return a / b
                }
                return point
            }
        }
    }

    /// The goals of the claims among `experiments` that ask for a time saving on an accuracy metric.
    public static func goals(_ experiments: [String]) -> [FrontierGoal] {
        var seen = Set<String>()
        return experiments.compactMap { name -> FrontierGoal? in
            guard seen.insert(name).inserted, let e = Experiment.named(name), e.claim.base == Experiment.deepVariant,
                  case .fasterAtEqualMetric(let minimum) = e.claim.test, minimum > 0,
                  let tolerance = e.claim.accuracyTolerance else { return nil }
            return FrontierGoal(experiment: name, timeRatio: 1 - minimum, gain: -100 * tolerance)
        }
    }

    /// Whether a point meets a goal by the reports' interval rule: the interval of its mean gain at
    /// or above the goal's, and every seed at or under the goal's time (`decide`).
    public static func outcome(_ p: FrontierPoint, _ goal: FrontierGoal) -> ThesisComparison.Outcome {
        if p.reducedScale != nil { return .notComparable }
        return ThesisComparison.decide(gains: p.gains, margin: goal.gain, savings: p.timeRatios.map { goal.timeRatio - $0 + 1e-12 })
    }

    /// Whether the point's means sit inside the goal's corner (mean time ratio at most the goal's,
    /// mean gain at least the goal's): the looser test of "on average", beside the interval rule.
    /// nil when the point decides nothing (reduced or modified runs).
    public static func meansInside(_ p: FrontierPoint, _ goal: FrontierGoal) -> Bool? {
        p.reducedScale != nil || p.seeds.isEmpty ? nil : p.time.mean <= goal.timeRatio + 1e-12 && p.gain.mean >= goal.gain
    }

    /// The goal column's text: the interval rule's outcome; then, for an undecided point, whether
    /// its means are inside the corner and about how many seeds would decide it at this spread.
    static func goalText(_ p: FrontierPoint, _ goal: FrontierGoal) -> String {
        let outcome = outcome(p, goal)
        var text = outcome.rawValue + (p.reducedScale.map { " (\($0.phrase))" } ?? "")
        guard outcome == .undecided, let inside = meansInside(p, goal), p.seeds.count >= 2 else { return text }
        text += inside ? "; means inside" : "; means outside"
        return text + (p.gain.seedsToDecideText(goal.gain).map { "; \($0)" } ?? "")
    }

    /// The table: one row per point, with the goal's verdict when there is one.
    public static func markdown(_ points: [FrontierPoint], goals: [FrontierGoal]) -> String {
        let goal = goals.first
        var header = ["experiment", "variant", "seeds", "training-step time vs deep (mean, range)",
                      "accuracy vs deep (points: mean, 95 % interval)", "time to target vs deep's (median)"]
        if let goal { header.append(String(format: "inside the goal (≤ %.2f×, ≥ %+.2f points)", goal.timeRatio, goal.gain)) }
        let rows = points.map { p -> [String] in
            let t = p.time
            var time = String(format: "%.3f×", t.mean)
            if t.count >= 2 { time += String(format: " (%.3f … %.3f)", t.minimum, t.maximum) }
            let g = p.gain
            let gain = String(format: "%+.2f", g.mean) + (g.intervalText().map { " \($0)" } ?? " (1 seed, no interval)")
            let reached = p.targetRatios.compactMap { $0 }
            var toTarget = reached.isEmpty ? "– (not reached by both)" : String(format: "%.3f×", SeedSample(reached).median)
            if !p.target.isNaN { toTarget += " at " + MetricTarget.text(p.target, metric: .accuracy) }
            if !reached.isEmpty && reached.count < p.targetRatios.count { toTarget += " (\(reached.count) of \(p.targetRatios.count) seeds)" }
            var row = [p.experiment, p.variant, p.seeds.map(String.init).joined(separator: ","), time, gain, toTarget]
            if let goal { row.append(goalText(p, goal)) }
            return row
        }
        return SeedTable.markdown(header: header, rows: rows)
    }

    /// The chart: per point a dot for each seed, the mean with its 95 % intervals as a cross
    /// (time across, accuracy up), and each goal's corner shaded.
    public static func svg(_ points: [FrontierPoint], goals: [FrontierGoal], title: String) -> String {
        let width = 820.0, height = 480.0
        let margin = (left: 78.0, right: 230.0, top: 44.0, bottom: 56.0)
        let left = margin.left, right = width - margin.right, top = margin.top, bottom = height - margin.bottom
        var xs = [1.0] + goals.map(\.timeRatio), ys = [0.0] + goals.map(\.gain)
        for p in points {
            xs += p.timeRatios + [p.time.interval?.lower, p.time.interval?.upper].compactMap { $0 }
            ys += p.gains
        }
        // The accuracy axis fits the seeds, the goals and zero, with room around them: an interval
        // of two or three seeds can be tens of points wide (Student's t) and would flatten every
        // point to a line; one that leaves the frame ends at its edge in an arrowhead.
        let (lowest, highest) = (ys.min() ?? 0, ys.max() ?? 0)
        let room = max(1, 0.25 * (highest - lowest))
        ys += [lowest - room, highest + room]
        var xa = PlotAxis.fitting(xs, scale: .linear, pixelLower: left, pixelUpper: right)
        var ya = PlotAxis.fitting(ys, scale: .linear, pixelLower: bottom, pixelUpper: top)
        if xa.lower > 0.3 { xa.lower = min(xa.lower, 0.3) }
        ya.upper = max(ya.upper, 0.5)

        var svg = SVGWriter(width: width, height: height)
        svg.text(title, x: left, y: 26, size: LineChart.titleSize(title, room: width - left - 10), weight: "bold", cls: "title")
        for (i, goal) in goals.enumerated() {
            let x0 = xa.position(max(xa.lower, min(xa.upper, goal.timeRatio)))
            let y0 = ya.position(max(ya.lower, min(ya.upper, goal.gain)))
            svg.rect(x: left, y: top, width: max(0, x0 - left), height: max(0, y0 - top), fill: "#e5f5e0", cls: "goal",
                     extra: [("data-time", svgNumber(goal.timeRatio)), ("data-gain", svgNumber(goal.gain))])
            svg.text(String(format: "%@ goal: ≤ %.2f× time, ≥ %+.1f points", goal.experiment, goal.timeRatio, goal.gain),
                     x: left + 6, y: top + 16 + 14 * Double(i), size: 11, fill: "#31a354", cls: "goal-label")
        }
        for t in ya.ticks() {
            let y = ya.position(t.value)
            svg.line(left, y, right, y, stroke: abs(t.value) < 1e-12 ? "#999999" : "#dddddd", cls: "grid")
            svg.text(t.label, x: left - 6, y: y + 4, size: 11, anchor: "end", cls: "ytick")
        }
        for t in xa.ticks() {
            let x = xa.position(t.value)
            svg.line(x, top, x, bottom, stroke: abs(t.value - 1) < 1e-12 ? "#999999" : "#eeeeee", cls: "grid")
            svg.text(t.label + "×", x: x, y: bottom + 18, size: 11, anchor: "middle", cls: "xtick")
        }
        svg.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none",
                 extra: [("stroke", "#444444"), ("stroke-width", "1")])
        svg.text("training-step time relative to deep of the same experiment and seed (deep = 1×)",
                 x: (left + right) / 2, y: height - 14, size: 13, anchor: "middle", cls: "xlabel")
        svg.text("test accuracy minus deep's (points)", x: 18, y: (top + bottom) / 2, size: 13, anchor: "middle",
                 rotate: -90, cls: "ylabel")

        func clampX(_ v: Double) -> Double { xa.position(max(xa.lower, min(xa.upper, v))) }
        func clampY(_ v: Double) -> Double { ya.position(max(ya.lower, min(ya.upper, v))) }
        for (i, p) in points.enumerated() {
            let color = Palette.color(i)
            svg.open("g", [("class", "frontier-point"), ("id", "frontier-\(i)"), ("data-label", p.label),
                           ("data-time", svgNumber(p.time.mean)), ("data-gain", svgNumber(p.gain.mean))])
            let cx = clampX(p.time.mean), cy = clampY(p.gain.mean)
            if let ci = p.gain.interval {
                svg.line(cx, clampY(ci.lower), cx, clampY(ci.upper), stroke: color, width: 1.5, cls: "interval")
                // An arrowhead where the interval goes on past the frame (pointing out of it).
                for (end, edge, out) in [(ci.lower, ya.lower, 1.0), (ci.upper, ya.upper, -1.0)] where out * (edge - end) > 0 {
                    let y = ya.position(edge)
                    svg.element("polygon", [("points", [(cx - 4, y - 7 * out), (cx + 4, y - 7 * out), (cx, y)]
                                                .map { "\(svgNumber($0.0)),\(svgNumber($0.1))" }.joined(separator: " ")),
                                            ("fill", color), ("class", "interval-cut"),
                                            ("data-bound", svgNumber(end))])
                }
            }
            if let ci = p.time.interval {
                svg.line(clampX(ci.lower), cy, clampX(ci.upper), cy, stroke: color, width: 1.5, cls: "interval")
            }
            svg.open("g", [("class", "seeds"), ("fill", color), ("fill-opacity", "0.45")])
            for (t, g) in zip(p.timeRatios, p.gains) {
                svg.element("circle", [("cx", svgNumber(clampX(t))), ("cy", svgNumber(clampY(g))), ("r", "3")])
            }
            svg.close("g")
            svg.open("g", [("class", "mean"), ("fill", color), ("stroke", "#ffffff"), ("stroke-width", "0.8")])
            LineChart.drawShape(&svg, i, x: cx, y: cy, r: 5)
            svg.close("g")
            svg.close("g")
            // Legend.
            let yy = top + 6 + Double(i) * 20
            svg.open("g", [("fill", color), ("stroke", "#ffffff"), ("stroke-width", "0.8")])
            LineChart.drawShape(&svg, i, x: right + 22, y: yy)
            svg.close("g")
            svg.text("\(p.label) (\(p.seeds.count) seed\(p.seeds.count == 1 ? "" : "s"))", x: right + 34, y: yy + 4,
                     size: 12, cls: "legend")
        }
        let note = top + 14 + Double(points.count) * 20
        svg.text("small dots: one per seed", x: right + 14, y: note, size: 11, fill: "#555555", cls: "legend")
        svg.text("shape and cross: mean ± 95 %", x: right + 14, y: note + 14, size: 11, fill: "#555555", cls: "legend")
        svg.text("interval (2 seeds or more)", x: right + 14, y: note + 28, size: 11, fill: "#555555", cls: "legend")
        svg.text("arrowhead: the interval goes on", x: right + 14, y: note + 42, size: 11, fill: "#555555", cls: "legend")
        svg.text("past the frame", x: right + 14, y: note + 56, size: 11, fill: "#555555", cls: "legend")
        return svg.render()
    }
}
