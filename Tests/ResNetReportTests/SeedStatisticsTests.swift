import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// Mean, spread, intervals, time to target and the per-seed pairing, against hand-computed values.
final class SeedStatisticsTests: XCTestCase {
    func testSampleAgainstClosedForms() throws {
        let s = SeedSample([2, 4, 9])
        XCTAssertEqual(s.mean, 5, accuracy: 1e-12)
        // Σ(x − 5)² = 9 + 1 + 16 = 26; / 2 = 13.
        XCTAssertEqual(try XCTUnwrap(s.standardDeviation), 13.0.squareRoot(), accuracy: 1e-12)
        let ci = try XCTUnwrap(s.interval)
        let half = 4.303 * 13.0.squareRoot() / 3.0.squareRoot()
        XCTAssertEqual(ci.lower, 5 - half, accuracy: 1e-9)
        XCTAssertEqual(ci.upper, 5 + half, accuracy: 1e-9)
        XCTAssertEqual(s.median, 4)
        XCTAssertEqual(SeedSample([1, 3, 2, 10]).median, 2.5)
        // Lower decile by nearest rank: the ⌈n/10⌉-th smallest.
        XCTAssertEqual(SeedSample([5, 3, 9]).lowerDecile, 3)
        XCTAssertEqual(SeedSample((1...10).map(Double.init).reversed()).lowerDecile, 1)
        XCTAssertEqual(SeedSample((1...11).map(Double.init)).lowerDecile, 2)
        XCTAssertEqual(SeedSample((1...50).map(Double.init)).lowerDecile, 5)
        XCTAssertTrue(SeedSample([]).lowerDecile.isNaN)
        XCTAssertNil(SeedSample([1]).interval)
        XCTAssertEqual(SeedSample([0.9114]).text(scale: 100), "91.14")
        XCTAssertEqual(SeedSample([1, 3]).text(), "2.00 ± 1.41")
    }

    /// Seeds to decide, against scipy's t quantiles (`t.ppf(0.975, n − 1) · sd / √n < |mean − threshold|`,
    /// least n): fashion-fast's seeds 1–2 at full scale (−0.53, +0.70 points against −0.30) need 23.
    func testSeedsToDecideAgainstScipy() throws {
        XCTAssertEqual(SeedSample([-0.53, 0.70]).seedsToClear(-0.3), 23)
        // Below the threshold: 4 seeds would refute it (n = 3: 4.303 · 0.283 / √3 = 0.703 > 0.5).
        XCTAssertEqual(SeedSample([-1.0, -0.6]).seedsToClear(-0.3), 4)
        // Already clear with 3: the least n is 3 (n = 2: 12.706 · 0.05 / √2 = 0.449 > 0.25).
        XCTAssertEqual(SeedSample([-0.1, -0.05, 0]).seedsToClear(-0.3), 3)
        XCTAssertNil(SeedSample([-0.1, -0.05, 0]).seedsToDecideText(-0.3))   // decided: nothing to say
        // No spread: two seeds decide; no distance, or too far off (scipy: > 19 000 seeds), never.
        XCTAssertEqual(SeedSample([0.1, 0.1]).seedsToClear(-0.3), 2)
        XCTAssertNil(SeedSample([-0.3, -0.3]).seedsToClear(-0.3))
        XCTAssertNil(SeedSample([0, 1]).seedsToClear(0.49))
        XCTAssertNil(SeedSample([0.5]).seedsToClear(0))
        XCTAssertEqual(SeedSample([-0.53, 0.70]).seedsToDecideText(-0.3), "≈ 23 seeds would decide it at this spread")
        XCTAssertEqual(SeedSample([0, 1]).seedsToDecideText(0.49), "more than 200 seeds would be needed to decide it at this spread")
    }

    func testStudentQuantiles() {
        // Published two-sided 95 % values.
        XCTAssertEqual(SeedSample.t975(degreesOfFreedom: 1), 12.706, accuracy: 1e-3)
        XCTAssertEqual(SeedSample.t975(degreesOfFreedom: 2), 4.303, accuracy: 1e-3)
        XCTAssertEqual(SeedSample.t975(degreesOfFreedom: 9), 2.262, accuracy: 1e-3)
        XCTAssertEqual(SeedSample.t975(degreesOfFreedom: 60), 2.000, accuracy: 3e-3)
        XCTAssertEqual(SeedSample.t975(degreesOfFreedom: 120), 1.980, accuracy: 3e-3)
    }

    func testTimeToTargetCountsEachEpochAtItsLevelsMedian() {
        // Two levels; level 1's epochs take 1, 1, 9 s (median 1), level 2's 2, 2 s.
        var r = syntheticRun(variant: "multilevel", epochs: 5, levels: [(2, 1, "euler"), (3, 0.5, "euler")], switches: [3],
                             seconds: [11, 4], peakMB: 10)
        let times = [1.0, 1, 9, 2, 2]
        let accuracy = [0.5, 0.7, 0.8, 0.85, 0.9]
        for i in 0..<5 {
            r.history[i].take(times[i])
            r.history[i].testMetric = accuracy[i]
        }
        XCTAssertEqual(r.timeToTarget(0.5), 1)
        XCTAssertEqual(r.timeToTarget(0.8), 3)        // the 9-s stall counts as 1 s
        XCTAssertEqual(r.timeToTarget(0.85), 5)
        XCTAssertEqual(r.timeToTarget(0.9), 7)
        XCTAssertNil(r.timeToTarget(0.95))
        XCTAssertEqual(r.medianOfLast(3), 0.85)
        // Error norms reach a target from above.
        var e = r
        e.testMetricName = .errorNorm
        for i in 0..<5 { e.history[i].testMetricName = .errorNorm; e.history[i].testMetric = [5, 3, 2, 1.5, 0.9][i] }
        XCTAssertEqual(e.timeToTarget(1.0), 7)
        XCTAssertEqual(e.timeToTarget(2.0), 3)
    }

    func testPairsBySeedAndSignsGainsForEitherMetric() {
        // Each run a network of its own (blocks 10·seed + variant), so each counts its own time.
        func run(_ variant: String, seed: Int, metric: Double, seconds: Double, kind: MetricKind) -> RunSummary {
            let blocks = 10 * seed + (variant == "deep" ? 1 : 2)
            var r = syntheticRun(variant: variant, levels: [(blocks, 1, "euler")], metric: kind.rawValue, seconds: [seconds], peakMB: 1)
            r.seed = seed
            r.testMetric = metric
            return r
        }
        // Seeds out of order and a seed only one side has (4): paired on 1 and 2 only.
        let deep = SeededVariant(variant: "deep", runs: [run("deep", seed: 2, metric: 0.90, seconds: 100, kind: .accuracy),
                                                         run("deep", seed: 1, metric: 0.91, seconds: 200, kind: .accuracy)])
        let ml = SeededVariant(variant: "multilevel", runs: [run("multilevel", seed: 1, metric: 0.905, seconds: 150, kind: .accuracy),
                                                             run("multilevel", seed: 4, metric: 0.5, seconds: 1, kind: .accuracy),
                                                             run("multilevel", seed: 2, metric: 0.92, seconds: 110, kind: .accuracy)])
        let p = PairedComparison(other: ml, base: deep)
        XCTAssertEqual(p.seeds, [1, 2])
        XCTAssertEqual(p.gains[0], -0.005, accuracy: 1e-12)
        XCTAssertEqual(p.gains[1], 0.02, accuracy: 1e-12)
        XCTAssertEqual(p.savings[0], 0.25, accuracy: 1e-12)
        XCTAssertEqual(p.savings[1], -0.1, accuracy: 1e-12)
        // Error norms: lower is better, so the gain is deep − multilevel.
        let d = SeededVariant(variant: "deep", runs: [run("deep", seed: 1, metric: 1.0, seconds: 10, kind: .errorNorm)])
        let m = SeededVariant(variant: "multilevel", runs: [run("multilevel", seed: 1, metric: 0.7, seconds: 10, kind: .errorNorm)])
        XCTAssertEqual(PairedComparison(other: m, base: d).gains[0], 0.3, accuracy: 1e-12)
    }

    func testTheTableShowsMeanAndSpreadAndWhoNeverReachedTheTarget() {
        var runs: [RunSummary] = []
        for (seed, (deepAcc, mlAcc)) in [(0.91, 0.90), (0.93, 0.88)].enumerated() {
            // Each seed's multi-level run a network of its own (2 and 3 blocks), so each counts its own time.
            var d = syntheticRun(variant: "deep", levels: [(4, 1, "euler")], seconds: [100], peakMB: 1)
            var m = syntheticRun(variant: "multilevel", levels: [(2 + seed, 1, "euler")], seconds: [80 - Double(seed) * 20], peakMB: 1)
            d.seed = seed + 1; m.seed = seed + 1
            d.testMetric = deepAcc; m.testMetric = mlAcc
            d.trivialMetric = 0.1; m.trivialMetric = 0.1
            runs += [d, m]
        }
        let table = SeedTable(variants: SeededVariant.group(runs), target: 0.95)
        XCTAssertEqual(table.rows[0][0], "deep")
        XCTAssertEqual(table.rows[0][1], "1,2")
        XCTAssertEqual(table.rows[0][2], "92.00 ± 1.41")
        XCTAssertEqual(table.rows[1][2], "89.00 ± 1.41")
        XCTAssertEqual(table.rows[1][6], "+30.0 % (+20.0 … +40.0)")
        XCTAssertEqual(table.rows[0][5], "never (0 of 2)")   // synthetic curves end at 90 %
        XCTAssertTrue(table.rows[1][7].contains("majority class"), table.rows[1][7])
        let headline = ReportTable.headline(runs) ?? ""
        XCTAssertTrue(headline.contains("89.00 ± 1.41 %"), headline)
        XCTAssertTrue(headline.hasSuffix("multilevel took 30 % less training-step time (2 seeds)"), headline)
    }
}
