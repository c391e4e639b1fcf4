import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// The frontier (time saved against accuracy lost) against figures worked out by hand from the
/// runs' seconds and accuracies, its verdict against the goal, and the chart's elements.
final class FrontierTests: XCTestCase {
    /// deep and one other variant per seed, each run a network of its own (so each counts its own time).
    func runs(experiment: String, _ seeds: [(deep: (acc: Double, s: Double), other: (acc: Double, s: Double))],
              other: String = "multilevel") -> [RunSummary] {
        var out: [RunSummary] = []
        for (i, pair) in seeds.enumerated() {
            for (variant, figures, blocks) in [("deep", pair.deep, 10 * i + 1), (other, pair.other, 10 * i + 2)] {
                var r = syntheticRun(variant: variant, levels: [(blocks, 1, "euler")], seconds: [figures.s], peakMB: 1)
                r.experiment = experiment
                r.seed = i + 1
                r.testMetric = figures.acc
                out.append(r)
            }
        }
        return out
    }

    func testPointsAreTimeRatiosAndPointDifferencesPerSeed() throws {
        let fast = runs(experiment: "fashion-fast", [((0.920, 100), (0.918, 60)), ((0.925, 200), (0.921, 130)),
                                                     ((0.922, 150), (0.923, 90))])
        // An error-norm experiment has no place on an accuracy frontier.
        var regression = runs(experiment: "regression", [((1.0, 10), (0.8, 8))])
        for i in regression.indices { regression[i].testMetricName = .errorNorm }
        let points = Frontier.points([("fashion-fast", fast), ("regression", regression)])
        XCTAssertEqual(points.count, 1)
        let p = try XCTUnwrap(points.first)
        XCTAssertEqual(p.label, "fashion-fast: multilevel")
        XCTAssertEqual(p.seeds, [1, 2, 3])
        for (got, want) in zip(p.timeRatios, [0.6, 0.65, 0.6]) { XCTAssertEqual(got, want, accuracy: 1e-12) }
        for (got, want) in zip(p.gains, [-0.2, -0.4, 0.1]) { XCTAssertEqual(got, want, accuracy: 1e-9) }
        // Time to target: the synthetic curves (0.6 + 0.03 per epoch, 10 equal epochs) reach 75 %
        // after epoch 5 — half of each run's time, so the ratio is the time ratio; 90.5 % never.
        let toTarget = try XCTUnwrap(Frontier.points([("fashion-fast", fast)], targets: ["fashion-fast": 0.75]).first)
        XCTAssertEqual(toTarget.target, 0.75)
        for (got, want) in zip(toTarget.targetRatios, [0.6, 0.65, 0.6]) { XCTAssertEqual(try XCTUnwrap(got), want, accuracy: 1e-12) }
        XCTAssertEqual(p.targetRatios.count, 3)
        XCTAssertEqual(p.reducedScale, .modified)   // synthetic runs record no scale
        var full = fast
        for i in full.indices { full[i].scale = .beyond }
        XCTAssertNil(try XCTUnwrap(Frontier.points([("fashion-fast", full)]).first).reducedScale)
        XCTAssertTrue(p.targetRatios.allSatisfy { $0 == nil })
        XCTAssertTrue(Frontier.markdown([toTarget], goals: []).contains("| 0.600× at 75.00 % |"))
        XCTAssertTrue(Frontier.markdown([p], goals: []).contains("| – (not reached by both) at 90.50 % |"))
    }

    func testGoalComesFromTheClaimAndIsJudgedByTheIntervalRule() throws {
        let goals = Frontier.goals(["fashion", "fashion-fast", "fashion-fast", "regression"])
        XCTAssertEqual(goals, [FrontierGoal(experiment: "fashion-fast", timeRatio: 0.65, gain: -0.3)])
        let goal = goals[0]
        // Gains −0.1, −0.05, 0.0 points: mean −0.05, sd 0.05, 95 % interval ±4.303·0.05/√3 = ±0.124
        // → [−0.174, +0.074], above −0.3; every seed at or under 0.65×: holds.
        let inside = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2, 3],
                                   timeRatios: [0.6, 0.65, 0.62], gains: [-0.1, -0.05, 0])
        XCTAssertEqual(Frontier.outcome(inside, goal), .holds)
        // One seed over the time: undecided (the saving is not met for every seed).
        let slow = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2, 3],
                                 timeRatios: [0.6, 0.66, 0.62], gains: [-0.1, -0.05, 0])
        XCTAssertEqual(Frontier.outcome(slow, goal), .undecided)
        // Gains −1.0, −0.9, −0.8: the interval [−1.148, −0.652] lies under −0.3: refuted.
        let worse = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2, 3],
                                  timeRatios: [0.6, 0.6, 0.6], gains: [-1.0, -0.9, -0.8])
        XCTAssertEqual(Frontier.outcome(worse, goal), .refuted)
        // One seed: no interval, undecided.
        let one = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1], timeRatios: [0.6], gains: [0.5])
        XCTAssertEqual(Frontier.outcome(one, goal), .undecided)
        // Reduced runs decide nothing, whatever they show (as the verdicts).
        var reduced = inside
        reduced.reducedScale = .reduced
        XCTAssertEqual(Frontier.outcome(reduced, goal), .notComparable)
        XCTAssertTrue(Frontier.markdown([reduced], goals: goals).contains("| not comparable (reduced scale) |"))

        let table = Frontier.markdown([inside, one], goals: goals)
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].contains("inside the goal (≤ 0.65×, ≥ -0.30 points)"), lines[0])
        XCTAssertEqual(lines[2], "| fashion-fast | multilevel | 1,2,3 | 0.623× (0.600 … 0.650) | -0.05 [-0.17, +0.07] | – (not reached by both) | holds |")
        XCTAssertEqual(lines[3], "| fashion-fast | multilevel | 1 | 0.600× | +0.50 (1 seed, no interval) | – (not reached by both) | undecided |")

        // Undecided with two seeds (fashion-fast at full scale, seeds 1–2): the means are inside
        // the corner, and at this spread about 23 seeds would decide (scipy, SeedStatisticsTests).
        let two = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2],
                                timeRatios: [0.603, 0.603], gains: [-0.53, 0.70])
        XCTAssertEqual(Frontier.meansInside(two, goal), true)
        XCTAssertTrue(Frontier.markdown([two], goals: goals).hasSuffix(
            "| undecided; means inside; ≈ 23 seeds would decide it at this spread |"), Frontier.markdown([two], goals: goals))
        // One seed over the time (0.66×) but the mean time (0.627×) inside: the means are inside
        // while the interval rule, which asks it of every seed, is not met; the accuracy interval
        // is clear, so there is no seed count to give.
        XCTAssertEqual(Frontier.meansInside(slow, goal), true)
        XCTAssertEqual(Frontier.goalText(slow, goal), "undecided; means inside")
        let slower = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2, 3],
                                   timeRatios: [0.6, 0.7, 0.7], gains: [-0.1, -0.05, 0])
        XCTAssertEqual(Frontier.meansInside(slower, goal), false)
        // The mean gain under the goal's: outside.
        let under = FrontierPoint(experiment: "fashion-fast", variant: "multilevel", seeds: [1, 2],
                                  timeRatios: [0.6, 0.6], gains: [-0.9, 0.2])
        XCTAssertEqual(Frontier.meansInside(under, goal), false)
        XCTAssertNil(Frontier.meansInside(reduced, goal))
    }

    func testChartDrawsEverySeedTheMeanAndTheGoal() throws {
        let fast = runs(experiment: "fashion-fast", [((0.920, 100), (0.918, 60)), ((0.925, 200), (0.921, 130))])
        let thesis = runs(experiment: "fashion", [((0.92, 100), (0.91, 85))], other: "shallow")
        let points = Frontier.points([("fashion", thesis), ("fashion-fast", fast)])
        let svg = Frontier.svg(points, goals: Frontier.goals(["fashion", "fashion-fast"]), title: "frontier")
        let xml = XMLCollector.parse(svg)
        let groups = xml.all("g", cls: "frontier-point")
        XCTAssertEqual(groups.map { $0.attributes["data-label"] }, ["fashion: shallow", "fashion-fast: multilevel"])
        XCTAssertEqual(groups[1].attributes["data-time"], "0.62")    // (0.60 + 0.65) / 2
        XCTAssertEqual(groups[1].attributes["data-gain"], "-0.30")   // (−0.2 − 0.4) / 2
        // One dot per seed, and interval lines only where there are two seeds.
        XCTAssertEqual(xml.all("circle").filter { $0.attributes["r"] == "3" }.count, 3)
        XCTAssertEqual(xml.all("line", cls: "interval").count, 2)
        let goal = try XCTUnwrap(xml.all("rect", cls: "goal").first)
        XCTAssertEqual(goal.attributes["data-time"], "0.65")
        XCTAssertEqual(goal.attributes["data-gain"], "-0.30")
        XCTAssertTrue(xml.all("text", cls: "legend").contains { $0.text == "fashion-fast: multilevel (2 seeds)" })
    }

    func testAWideIntervalDoesNotSetTheScale() throws {
        // Two seeds a long way apart: the 95 % interval (t with one degree of freedom) spans
        // about ±54 points, the seeds −1.0 and +7.5; the axis fits the seeds, and both ends of
        // the interval leave the frame with an arrowhead.
        let wide = runs(experiment: "fashion", [((0.9114, 100), (0.9008, 86)), ((0.8375, 100), (0.9121, 86))])
        let points = Frontier.points([("fashion", wide)])
        let ci = try XCTUnwrap(points[0].gain.interval)
        XCTAssertLessThan(ci.lower, -40)
        XCTAssertGreaterThan(ci.upper, 40)
        let xml = XMLCollector.parse(Frontier.svg(points, goals: [], title: "frontier"))
        let ticks = xml.all("text", cls: "ytick").compactMap { Double($0.text.replacingOccurrences(of: "−", with: "-")) }
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(ticks.min()), -10)
        XCTAssertLessThanOrEqual(try XCTUnwrap(ticks.max()), 15)
        let cuts = xml.all("polygon", cls: "interval-cut")
        XCTAssertEqual(cuts.count, 2)
        XCTAssertEqual(Set(cuts.compactMap { $0.attributes["data-bound"].flatMap(Double.init) }.map { $0 > 0 }), [false, true])
        // A narrow interval stays whole: no arrowhead.
        let narrow = runs(experiment: "fashion", [((0.91, 100), (0.905, 86)), ((0.912, 100), (0.906, 86)), ((0.913, 100), (0.908, 86))])
        let whole = XMLCollector.parse(Frontier.svg(Frontier.points([("fashion", narrow)]), goals: [], title: "frontier"))
        XCTAssertEqual(whole.all("polygon", cls: "interval-cut").count, 0)
    }
}
