import XCTest
@testable import ResNetReport
@testable import ResNetTraining

/// Each branch of the verdicts: a claim is "reproduced" only at the thesis's settings, with
/// networks that learned, figures within tolerance, and the claim holding.
final class ThesisComparisonTests: XCTestCase {
    func run(_ experiment: String, _ variant: String, metric: Double, seconds: Double = 100,
             scale: RunScale = .thesis, trivial: Double? = nil) -> RunSummary {
        let accuracy = ["fashion", "cifar", "rk2-fashion"].contains(experiment)
        var s = syntheticRun(variant: variant, levels: [(3, 1, "euler")], metric: accuracy ? "test accuracy" : "test error norm",
                             seconds: [seconds], peakMB: 100)
        s.experiment = experiment
        s.testMetric = metric
        s.scale = scale
        s.trivialMetric = trivial ?? (accuracy ? 0.1 : 14.9)
        return s
    }

    func testFashionAtTheThesisScaleWithinOnePointAndFasterIsReproduced() {
        let v = ThesisComparison.verdict(experiment: "fashion", runs: [
            run("fashion", "deep", metric: 0.9080, seconds: 540), run("fashion", "multilevel", metric: 0.9120, seconds: 500),
        ])
        XCTAssertEqual(v.outcome, .reproduced, v.detail)
    }

    func testReducedRunsAreNotComparableWhateverTheyShow() {
        for scale in [RunScale.reduced, .modified] {
            let v = ThesisComparison.verdict(experiment: "fashion", runs: [
                run("fashion", "deep", metric: 0.9114, seconds: 540, scale: scale),
                run("fashion", "multilevel", metric: 0.9156, seconds: 400, scale: scale),
            ])
            XCTAssertEqual(v.outcome, .notComparable, v.detail)
            XCTAssertTrue(v.detail.contains(scale.phrase), v.detail)
        }
    }

    func testASavingBetweenNetworksThatDidNotLearnCountsForNothing() {
        // The regression at the thesis's printed settings: both networks stay at the mean.
        let v = ThesisComparison.verdict(experiment: "regression", runs: [
            run("regression", "deep", metric: 15.15, seconds: 0.10), run("regression", "multilevel", metric: 15.04, seconds: 0.09),
        ])
        XCTAssertEqual(v.outcome, .notComparable, v.detail)
        XCTAssertTrue(v.detail.contains("did not learn"), v.detail)
        // Chance-level accuracy likewise.
        let chance = ThesisComparison.verdict(experiment: "fashion", runs: [
            run("fashion", "deep", metric: 0.10, seconds: 540), run("fashion", "multilevel", metric: 0.10, seconds: 400),
        ])
        XCTAssertEqual(chance.outcome, .notComparable, chance.detail)
    }

    func testAClaimThatFailsAtFullScaleIsRefuted() {
        // Multi-level slower than deep.
        let slower = ThesisComparison.verdict(experiment: "fashion", runs: [
            run("fashion", "deep", metric: 0.911, seconds: 500), run("fashion", "multilevel", metric: 0.912, seconds: 520),
        ])
        XCTAssertEqual(slower.outcome, .refuted, slower.detail)
        // Multi-level clearly worse.
        let worse = ThesisComparison.verdict(experiment: "regression", runs: [
            run("regression", "deep", metric: 0.6, seconds: 10, scale: .reading),
            run("regression", "multilevel", metric: 1.9, seconds: 8, scale: .reading),
        ])
        XCTAssertEqual(worse.outcome, .refuted, worse.detail)
        // RK2 not better than Euler.
        let rk2 = ThesisComparison.verdict(experiment: "rk2-regression", runs: [
            run("rk2-regression", "deep", metric: 0.9), run("rk2-regression", "rk2", metric: 0.8),
        ])
        XCTAssertEqual(rk2.outcome, .refuted, rk2.detail)
    }

    func testAClaimThatHoldsUnderOurReadingIsNotCalledReproduced() {
        let v = ThesisComparison.verdict(experiment: "regression", runs: [
            run("regression", "deep", metric: 0.70, seconds: 10, scale: .reading),
            run("regression", "multilevel", metric: 0.80, seconds: 8, scale: .reading),
        ])
        XCTAssertEqual(v.outcome, .holds, v.detail)
        XCTAssertTrue(v.detail.contains(RunScale.reading.phrase), v.detail)
    }

    func testAccuracyOutsideOnePointOfTheThesisHoldsButIsNotReproduced() {
        let v = ThesisComparison.verdict(experiment: "fashion", runs: [
            run("fashion", "deep", metric: 0.885, seconds: 540), run("fashion", "multilevel", metric: 0.887, seconds: 500),
        ])
        XCTAssertEqual(v.outcome, .holds, v.detail)
        XCTAssertTrue(v.detail.contains("outside the tolerance"), v.detail)
    }

    func testRK2RegressionNeedsOnlyTheRK2NetworkToLearn() {
        // The thesis's own figures: Euler 9.792 (near the plateau), RK2 0.439.
        let v = ThesisComparison.verdict(experiment: "rk2-regression", runs: [
            run("rk2-regression", "deep", metric: 9.5), run("rk2-regression", "rk2", metric: 0.45),
        ])
        XCTAssertEqual(v.outcome, .reproduced, v.detail)
    }

    func testMissingRunsAreIncomplete() {
        XCTAssertEqual(ThesisComparison.verdict(experiment: "fashion", runs: [run("fashion", "deep", metric: 0.9)]).outcome, .incomplete)
    }

    func testLearnedThresholds() {
        XCTAssertEqual(run("regression", "deep", metric: 2.2).learned, true)      // 14.8 % of 14.9
        XCTAssertEqual(run("regression", "deep", metric: 2.3).learned, false)
        XCTAssertEqual(run("fashion", "deep", metric: 0.5).learned, true)
        XCTAssertEqual(run("fashion", "deep", metric: 0.45).learned, false)
    }

    func testScaleOfBuiltInConfigs() throws {
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep").scale, .thesis)
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "regression", variant: "deep", preset: .thesis).scale, .thesis)
        XCTAssertEqual(try ExperimentConfig.builtIn(experiment: "regression", variant: "deep").scale, .reading)
        var small = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        small.subset = 2048
        XCTAssertEqual(small.scale, .reduced)
        var short = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        short.epochs = 2
        XCTAssertEqual(short.scale, .reduced)
        var other = try ExperimentConfig.builtIn(experiment: "fashion", variant: "deep")
        other.lr = 0.01
        XCTAssertEqual(other.scale, .modified)
    }
}
