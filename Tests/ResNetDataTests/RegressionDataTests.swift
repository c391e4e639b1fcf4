import Foundation
import XCTest
@testable import ResNetData

final class RegressionDataTests: XCTestCase {
    func testSizesIntervalAndNoise() {
        for function in RegressionFunction.allCases {
            let (train, test) = makeRegressionData(function, seed: 3)
            XCTAssertEqual(train.count, 2000)
            XCTAssertEqual(test.count, 1500)
            for x in train.x + test.x {
                XCTAssertGreaterThanOrEqual(x, 0)
                XCTAssertLessThanOrEqual(x, Float(2 * Double.pi))
            }
            // Spread over the whole interval, not a corner of it.
            XCTAssertLessThan(train.x.min()!, 0.05)
            XCTAssertGreaterThan(train.x.max()!, 6.2)
            // Training noise: residuals have mean ≈ 0 and std ≈ 1/500 (2000 samples: ±~3.2 %).
            let residuals = zip(train.x, train.y).map { Double($1) - function(Double($0)) }
            let mean = residuals.reduce(0, +) / Double(residuals.count)
            let std = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residuals.count)).squareRoot()
            XCTAssertEqual(std, 1.0 / 500, accuracy: 0.1 / 500, "\(function)")
            XCTAssertEqual(mean, 0, accuracy: 0.2 / 500)
            // Test targets are noise-free (up to Float rounding).
            for (x, y) in zip(test.x, test.y) {
                XCTAssertEqual(Double(y), function(Double(x)), accuracy: 1e-6)
            }
        }
    }

    func testFunctionValues() {
        let x = 1.3
        XCTAssertEqual(RegressionFunction.cosSquaredSinSquare(x), cos(x) * cos(x) * sin(x * x), accuracy: 1e-15)
        XCTAssertEqual(RegressionFunction.cosSquareCosSinSquare(x), cos(x * x) * cos(x) * sin(x * x), accuracy: 1e-15)
        XCTAssertEqual(RegressionFunction.cosSquaredSinSquare(0), 0)
    }

    func testDeterministicPerSeed() {
        let a = makeRegressionData(.cosSquaredSinSquare, seed: 11)
        let b = makeRegressionData(.cosSquaredSinSquare, seed: 11)
        let c = makeRegressionData(.cosSquaredSinSquare, seed: 12)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.test, b.test)
        XCTAssertNotEqual(a.train.x, c.train.x)
        XCTAssertNotEqual(a.train.x.prefix(100), a.test.x.prefix(100), "train and test come from separate streams")
        // Pinned values: a change of generator would silently change every experiment.
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
    }

    func testBatchGather() {
        let (train, _) = makeRegressionData(.cosSquareCosSinSquare, seed: 1)
        var inputs = [Float](repeating: -1, count: 3), targets = [Float](repeating: -1, count: 3)
        inputs.withUnsafeMutableBufferPointer { xs in
            targets.withUnsafeMutableBufferPointer { ys in train.writeBatch(indices: [7, 0], inputs: xs, targets: ys) }
        }
        XCTAssertEqual(inputs, [train.x[7], train.x[0], -1])
        XCTAssertEqual(targets, [train.y[7], train.y[0], -1])
        XCTAssertEqual(train.subset(first: 10).x, Array(train.x[0 ..< 10]))
    }
}
