import Foundation
import XCTest
@testable import ResNetCore

final class RungeKuttaTests: XCTestCase {
    /// exp(hA)·y by the Taylor series (‖hA‖ < 1 here, 40 terms is far below Double rounding).
    func exactSolution(_ a: [[Double]], _ y: [Double], h: Double) -> [Double] {
        var term = y, sum = y
        for k in 1..<40 {
            term = (0..<y.count).map { i in (0..<y.count).reduce(0.0) { $0 + a[i][$1] * term[$1] } * h / Double(k) }
            for i in 0..<y.count { sum[i] += term[i] }
        }
        return sum
    }

    /// Least-squares slope of log(error) against log(h).
    func slope(_ hs: [Double], _ errors: [Double]) -> Double {
        let xs = hs.map { Foundation.log($0) }, ys = errors.map { Foundation.log($0) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let num = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        let den = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        return num / den
    }

    /// With linear F(y) = A·y, one step of each tableau must have local error O(h^(p+1)).
    func testOrderOfAccuracyWithLinearF() {
        let a: [[Double]] = [[-0.6, 0.8, 0.1], [-0.7, -0.2, 0.4], [0.3, -0.5, -0.9]]
        let y0: [Double] = [1.0, -0.5, 0.25]
        let hs = [0.2, 0.1, 0.05, 0.025]
        let expectedOrders: [Integrator: Int] = [.euler: 1, .midpoint: 2, .heun: 2, .rk4: 4]
        for integrator in Integrator.allCases {
            let tableau = integrator.tableau
            XCTAssertEqual(tableau.order, expectedOrders[integrator])
            let errors = hs.map { h -> Double in
                let step = tableau.step(y0, h: h) { _, z in
                    (0..<z.count).map { i in (0..<z.count).reduce(0.0) { $0 + a[i][$1] * z[$1] } }
                }
                let exact = exactSolution(a, y0, h: h)
                return zip(step, exact).map { abs($0 - $1) }.max()!
            }
            let s = slope(hs, errors)
            print("\(integrator): one-step errors \(errors), fitted slope \(s), expected \(expectedOrders[integrator]! + 1)")
            XCTAssertEqual(s, Double(expectedOrders[integrator]! + 1), accuracy: 0.3)
        }
    }

    func testRk2Alias() throws {
        XCTAssertEqual(Integrator(name: "rk2"), .midpoint)
        XCTAssertEqual(Integrator(name: "RK4"), .rk4)
        let decoded = try JSONDecoder().decode([Integrator].self, from: Data(#"["rk2","heun"]"#.utf8))
        XCTAssertEqual(decoded, [.midpoint, .heun])
    }

    /// The generic backward against finite differences of the generic step in Double, with a
    /// nonlinear F(z) = tanh(W z): exercises every aᵢⱼ and bᵢ path.
    func testStepBackwardMatchesFiniteDifferencesInDouble() {
        let w: [[Double]] = [[0.5, -1.2], [0.8, 0.3]]
        func f(_ z: [Double]) -> [Double] { (0..<2).map { i in Foundation.tanh(w[i][0] * z[0] + w[i][1] * z[1]) } }
        func fBackward(_ z: [Double], _ dk: [Double]) -> [Double] {
            let pre = (0..<2).map { i in w[i][0] * z[0] + w[i][1] * z[1] }
            let d = (0..<2).map { i in dk[i] * (1 - Foundation.tanh(pre[i]) * Foundation.tanh(pre[i])) }
            return (0..<2).map { j in d[0] * w[0][j] + d[1] * w[1][j] }
        }
        let y: [Double] = [0.3, -0.7], r: [Double] = [1.3, -0.4], h = 0.6
        for integrator in Integrator.allCases {
            let t = integrator.tableau
            var stageInputs: [[Double]] = []
            _ = t.step(y, h: h) { _, z in stageInputs.append(z); return f(z) }
            let analytic = t.stepBackward(r, h: h) { i, dk in fBackward(stageInputs[i], dk) }
            var maxErr = 0.0
            for j in 0..<2 {
                var p = y, m = y
                p[j] += 1e-6; m[j] -= 1e-6
                let lp = zip(t.step(p, h: h) { f($1) }, r).map(*).reduce(0, +)
                let lm = zip(t.step(m, h: h) { f($1) }, r).map(*).reduce(0, +)
                maxErr = max(maxErr, abs((lp - lm) / 2e-6 - analytic[j]))
            }
            print("\(integrator) generic backward vs FD (Double): max err \(maxErr)")
            XCTAssertLessThan(maxErr, 1e-8)
        }
    }

    // MARK: whole residual blocks, FD in Float32 (tolerance in TestSupport)

    func testMLPResidualBlockFiniteDifferencesEachTableau() throws {
        for integrator in Integrator.allCases {
            let h = Harness()
            let fc1 = Linear("fc1", inputFeatures: 4, outputFeatures: 4, initialization: .xavier, layout: h.layout)
            let fc2 = Linear("fc2", inputFeatures: 4, outputFeatures: 4, initialization: .xavier, layout: h.layout)
            let block = ResidualBlock(subNetwork: [fc1, ActivationLayer(.sigmoid), fc2],
                                      tableau: integrator.tableau, h: 0.5)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([3, 4], seed: 20),
                                      forward: { try block.forward($0, training: true, buffers: $1) },
                                      backward: { try block.backward($0, buffers: $1) })
            print("MLP block \(integrator) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    func testCNNResidualBlockFiniteDifferencesEachTableau() throws {
        for integrator in Integrator.allCases {
            let h = Harness()
            let layers: [Layer] = [
                BatchNorm("bn1", channels: 2, layout: h.layout), ActivationLayer(.sigmoid),
                Conv2d("conv1", inputChannels: 2, outputChannels: 2, kernelSize: 3, stride: 1, padding: 1,
                       bias: true, initialization: .xavier, layout: h.layout),
                BatchNorm("bn2", channels: 2, layout: h.layout), ActivationLayer(.sigmoid),
                Conv2d("conv2", inputChannels: 2, outputChannels: 2, kernelSize: 3, stride: 1, padding: 1,
                       bias: true, initialization: .xavier, layout: h.layout),
            ]
            let block = ResidualBlock(subNetwork: layers, tableau: integrator.tableau, h: 0.5)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([2, 2, 5, 3], seed: 21),
                                      forward: { try block.forward($0, training: true, buffers: $1) },
                                      backward: { try block.backward($0, buffers: $1) })
            print("CNN block \(integrator) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    /// The parameter count does not depend on the integrator.
    func testParameterCountIndependentOfIntegrator() {
        let counts = Integrator.allCases.map { ResNetModel(spec: .fashionMNIST(integrator: $0), seed: 1).parameterCount }
        XCTAssertEqual(Set(counts).count, 1)
    }
}
