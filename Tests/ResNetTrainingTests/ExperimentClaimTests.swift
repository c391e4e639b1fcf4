import XCTest
@testable import ResNetTraining

/// Every experiment's claim and thesis figures name variants it has.
final class ExperimentClaimTests: XCTestCase {
    func testClaimsAndFiguresNameTheExperimentsOwnVariants() {
        for e in Experiment.all {
            let names = Set(e.variants.map(\.name))
            XCTAssertTrue(names.contains(e.claim.candidate), "\(e.name): claim candidate \(e.claim.candidate)")
            XCTAssertTrue(names.contains(e.claim.base), "\(e.name): claim base \(e.claim.base)")
            XCTAssertNotEqual(e.claim.candidate, e.claim.base, e.name)
            XCTAssertTrue(Set(e.thesisFigures.keys).isSubset(of: names), "\(e.name): figures for \(e.thesisFigures.keys)")
            // Our own experiments carry no thesis figures.
            if e.isBeyondThesis { XCTAssertTrue(e.thesisFigures.isEmpty, e.name) }
        }
    }

    func testOnlyTheFastScheduleAsksForASavingAndATighterTolerance() {
        for e in Experiment.all {
            if case .fasterAtEqualMetric(let saving) = e.claim.test, saving > 0 {
                XCTAssertEqual(e.name, "fashion-fast")
                XCTAssertEqual(saving, 0.35)
                XCTAssertEqual(e.claim.accuracyTolerance, 0.003)
            }
        }
        XCTAssertEqual(Experiment.all.filter(\.isBeyondThesis).map(\.name), ["fashion-fast"])
    }
}
