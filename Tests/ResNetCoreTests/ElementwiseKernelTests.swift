import CKernels
import Foundation
import XCTest
@testable import ResNetCore

/// CKernels' element-wise loops (Adam's update, the sigmoid) on every instruction-set path this
/// CPU runs, bit for bit against plain scalar loops of the arithmetic their headers state (the
/// Swift code they replaced), and against Double references; and the column sums of Linear's
/// bias gradient against a row-by-row loop.
final class ElementwiseKernelTests: XCTestCase {
    /// Vector bodies and tails: counts below, at and past every path's lane count.
    let counts = [1, 3, 4, 7, 8, 15, 16, 17, 37, 100]

    func values(_ count: Int, seed: UInt64, bound: Float) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextUniform(bound: bound) }
    }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    // MARK: Adam

    func testAdamStepMatchesScalarLoopOnEveryPath() {
        for path in DirectConvolution.supportedPaths {
            for count in counts {
                var p = values(count, seed: 1, bound: 1), m = values(count, seed: 2, bound: 0.1)
                var v = values(count, seed: 3, bound: 0.01).map { $0 * $0 }
                let g = values(count, seed: 4, bound: 0.5)
                var (pRef, mRef, vRef) = (p, m, v)
                let k = ck_adam_coefficients(beta1: 0.9, one_minus_beta1: 1 - 0.9, beta2: 0.999, one_minus_beta2: 1 - 0.999,
                                             weight_decay: 0.01, step_size: 0.005 / 0.271, inverse_root_correction2: 1 / Float(0.003).squareRoot(),
                                             epsilon: 1e-8)
                for i in 0..<count {
                    let grad = g[i] + k.weight_decay * pRef[i]
                    mRef[i] = k.beta1 * mRef[i] + k.one_minus_beta1 * grad
                    vRef[i] = k.beta2 * vRef[i] + k.one_minus_beta2 * grad * grad
                    pRef[i] -= k.step_size * mRef[i] / (vRef[i].squareRoot() * k.inverse_root_correction2 + k.epsilon)
                }
                XCTAssertEqual(ck_adam_step(path.cValue, count, &p, g, &m, &v, k), 0)
                XCTAssertEqual(bits(p), bits(pRef), "\(path) count \(count): parameters")
                XCTAssertEqual(bits(m), bits(mRef), "\(path) count \(count): first moments")
                XCTAssertEqual(bits(v), bits(vRef), "\(path) count \(count): second moments")
            }
        }
    }

    /// Adam over 37 parameters with weight decay for five steps, against the update in Double.
    func testAdamWithWeightDecayAgainstDouble() {
        let count = 37, lr = 0.01, wd = 0.05
        let adam = Adam(parameterCount: count, weightDecay: Float(wd))
        var params = values(count, seed: 5, bound: 1)
        var expected = params.map(Double.init), m = [Double](repeating: 0, count: count), v = m
        var maxDiff = 0.0
        for t in 1...5 {
            let grads = values(count, seed: UInt64(10 + t), bound: 0.3)
            adam.step(parameters: &params, gradients: grads, learningRate: Float(lr))
            for i in 0..<count {
                let g = Double(grads[i]) + wd * expected[i]
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                let mHat = m[i] / (1 - Foundation.pow(0.9, Double(t))), vHat = v[i] / (1 - Foundation.pow(0.999, Double(t)))
                expected[i] -= lr * mHat / (vHat.squareRoot() + 1e-8)
                maxDiff = max(maxDiff, abs(expected[i] - Double(params[i])))
            }
        }
        print("Adam (37 parameters, weight decay) 5 steps vs Double: max |diff| = \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-5)
    }

    // MARK: Sigmoid

    func testSigmoidMatchesSwiftFastExpOnEveryPath() {
        // Wide values, the clamp's edges and beyond, signed zeros, tiny values.
        let special: [Float] = [0, -0, 1e-30, -1e-30, 87.3, -87.3, 88.3, -88.3, 87.29, -88.31, 100, -100, 1e30, -1e30,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity]
        for path in DirectConvolution.supportedPaths {
            for count in counts + [special.count] {
                let x = count == special.count ? special : values(count, seed: UInt64(count), bound: 20)
                let expected = x.map { 1 / (1 + fastExp(-$0)) }
                var y = [Float](repeating: .nan, count: count)
                XCTAssertEqual(ck_sigmoid(path.cValue, count, x, &y), 0)
                XCTAssertEqual(bits(y), bits(expected), "\(path) count \(count)")
                // In place (x and y the same array).
                var z = x
                z.withUnsafeMutableBufferPointer { _ = ck_sigmoid(path.cValue, count, $0.baseAddress!, $0.baseAddress!) }
                XCTAssertEqual(bits(z), bits(expected), "\(path) count \(count), in place")
            }
            var nan = [Float.nan, 1]
            XCTAssertEqual(ck_sigmoid(path.cValue, 2, nan, &nan), 0)
            XCTAssertTrue(nan[0].isNaN, "\(path): NaN passes through")
        }
    }

    func testSigmoidAgainstLibm() {
        let x = values(1000, seed: 9, bound: 30)
        var y = [Float](repeating: 0, count: x.count)
        XCTAssertEqual(ck_sigmoid(CK_PATH_AUTO, x.count, x, &y), 0)
        let maxDiff = zip(x, y).map { abs(1 / (1 + Foundation.exp(-Double($0))) - Double($1)) }.max()!
        print("ck_sigmoid vs libm on [-30, 30]: max |diff| = \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-6)
    }

    func testKernelsRejectBadArguments() {
        var a: [Float] = [0]
        XCTAssertEqual(ck_sigmoid(CK_PATH_AUTO, -1, a, &a), -1)
        let k = ck_adam_coefficients(beta1: 0.9, one_minus_beta1: 0.1, beta2: 0.999, one_minus_beta2: 0.001,
                                     weight_decay: 0, step_size: 1, inverse_root_correction2: 1, epsilon: 1e-8)
        var (p, m, v) = (a, a, a)
        XCTAssertEqual(ck_adam_step(CK_PATH_AUTO, -1, &p, a, &m, &v, k), -1)
    }

    // MARK: Column sums (Linear's bias gradient)

    func testAddColumnSumsMatchesRowByRowLoop() {
        for (rows, columns) in [(13, 37), (256, 32), (7, 75), (1, 1), (5, 8), (3, 9), (0, 4), (0, 40)] {
            let x = values(rows * columns, seed: UInt64(rows * 100 + columns), bound: 1)
            var sums = values(columns, seed: 77, bound: 1)
            var expected = sums
            for r in 0..<rows { for j in 0..<columns { expected[j] += x[r * columns + j] } }
            var exact = sums.map(Double.init)
            for r in 0..<rows { for j in 0..<columns { exact[j] += Double(x[r * columns + j]) } }
            x.withUnsafeBufferPointer { xp in
                sums.withUnsafeMutableBufferPointer { Kernels.addColumnSums(xp.baseAddress!, rows: rows, columns: columns, into: $0.baseAddress!) }
            }
            XCTAssertEqual(bits(sums), bits(expected), "\(rows)×\(columns)")
            for j in 0..<columns { XCTAssertEqual(Double(sums[j]), exact[j], accuracy: 1e-4) }
        }
    }
}
