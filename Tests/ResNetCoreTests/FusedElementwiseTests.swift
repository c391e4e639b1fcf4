import CKernels
import Foundation
import XCTest
@testable import ResNetCore

/// CKernels' fused element-wise passes (ck_normact.h) on every instruction-set path this CPU runs,
/// bit for bit against plain scalar loops of the arithmetic the header states: the separate Swift
/// passes they replaced (normalise, HalfPrecision, γ·x̂ + β, σ; σ′ then Σdz and Σdz·x̂ in eight
/// lanes; BatchNorm's input gradient; Σx and Σx²), and the sums against Double.
final class FusedElementwiseTests: XCTestCase {
    /// Planes below, at and past the eight lanes of the sums and the sixteen of ck_norm_act.
    // Tails of every length, and planes past the widest main loop (64 lanes on AVX2, 32 on
    // AVX-512) with and without a rest: the networks' 196 and 784.
    let planes = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 49, 64, 100, 130, 196, 784]
    let channels = 3
    let activations: [Activation] = [.sigmoid, .relu, .tanh]

    func values(_ count: Int, seed: UInt64, bound: Float) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextUniform(bound: bound) }
    }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    /// σ in scalars, as ActivationLayer's loops have it.
    func sigma(_ a: Activation, _ z: Float) -> Float {
        switch a {
        case .sigmoid: 1 / (1 + fastExp(-z))
        case .relu: max(z, 0)
        case .tanh: 1 - 2 / (fastExp(2 * z) + 1)
        }
    }

    func sigmaPrime(_ a: Activation, y: Float, dy: Float) -> Float {
        switch a {
        case .sigmoid: dy * (y * (1 - y))
        case .relu: y > 0 ? dy : 0
        case .tanh: dy * (1 - y * y)
        }
    }

    /// Σ in eight lanes (lane j takes elements j, j + 8, …; lanes added in order from −0), then
    /// the tail element by element.
    func laneSum(_ v: [Float]) -> Float {
        var lanes = [Float](repeating: 0, count: 8)
        let whole = v.count / 8 * 8
        for i in 0..<whole { lanes[i % 8] += v[i] }
        var s: Float = -0.0
        for l in lanes { s += l }
        for i in whole..<v.count { s += v[i] }
        return s
    }

    func half(_ v: [Float]) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: v.count)
        HalfPrecision.pack(v, into: &out, count: v.count)
        return out
    }

    func unhalf(_ h: [UInt16]) -> [Float] {
        var out = [Float](repeating: 0, count: h.count)
        HalfPrecision.unpack(h, into: &out, count: h.count)
        return out
    }

    func testNormalizeAndActivateMatchesSeparatePasses() {
        for path in DirectConvolution.supportedPaths {
            for a in activations {
                for plane in planes {
                    let n = channels * plane
                    let x = values(n, seed: UInt64(plane), bound: 4)
                    let mean = values(channels, seed: 11, bound: 0.5), inv = values(channels, seed: 12, bound: 2).map { abs($0) + 0.1 }
                    let gamma = values(channels, seed: 13, bound: 1.5), beta = values(channels, seed: 14, bound: 0.5)
                    var xhatRef = [Float](repeating: 0, count: n), yRef = xhatRef
                    for c in 0..<channels {
                        for i in 0..<plane {
                            let v = (x[c * plane + i] - mean[c]) * inv[c]
                            xhatRef[c * plane + i] = v
                            yRef[c * plane + i] = sigma(a, gamma[c] * v + beta[c])
                        }
                    }
                    var xhat = [Float](repeating: .nan, count: n), y = xhat
                    var xhatHalf = [UInt16](repeating: 0xFFFF, count: n)
                    XCTAssertEqual(ck_norm_act(path.cValue, a.cValue, channels, plane, x, nil, mean, inv, gamma, beta,
                                               &xhat, &xhatHalf, &y), 0)
                    let label = "\(path) \(a) plane \(plane)"
                    XCTAssertEqual(bits(xhat), bits(xhatRef), "\(label): x̂")
                    XCTAssertEqual(xhatHalf, half(xhatRef), "\(label): x̂ in half")
                    XCTAssertEqual(bits(y), bits(yRef), "\(label): σ(γx̂ + β)")

                    // Backward's recomputation: from the kept x̂, in Float and in half.
                    var again = [Float](repeating: .nan, count: n)
                    XCTAssertEqual(ck_norm_act(path.cValue, a.cValue, channels, plane, xhatRef, nil, nil, nil, gamma, beta,
                                               nil, nil, &again), 0)
                    XCTAssertEqual(bits(again), bits(yRef), "\(label): from Float x̂")
                    let decoded = unhalf(xhatHalf)
                    var fromHalfRef = [Float](repeating: 0, count: n)
                    for c in 0..<channels {
                        for i in 0..<plane { fromHalfRef[c * plane + i] = sigma(a, gamma[c] * decoded[c * plane + i] + beta[c]) }
                    }
                    var decodedOut = [Float](repeating: .nan, count: n)
                    XCTAssertEqual(ck_norm_act(path.cValue, a.cValue, channels, plane, nil, xhatHalf, mean, inv, gamma, beta,
                                               &decodedOut, nil, &again), 0)
                    XCTAssertEqual(bits(decodedOut), bits(decoded), "\(label): half decoded")
                    XCTAssertEqual(bits(again), bits(fromHalfRef), "\(label): from half x̂")
                }
            }
        }
    }

    /// Half encoding at its edges: subnormals to zero, rounding ties, saturation, signed zeros.
    func testHalfEdgesMatchHalfPrecision() {
        let x: [Float] = [0, -0, 1e-5, -1e-5, 6.1e-5, 6.2e-5, 1 + 1.0 / 2048, 1 + 3.0 / 2048, 65504, 65519, 65520, 1e6, -1e6,
                          0.1, -0.3, 2.5, 1000.5, -7, 3e-3, 12345.678]
        let ones = [Float](repeating: 1, count: 1), zeros = [Float](repeating: 0, count: 1)
        for path in DirectConvolution.supportedPaths {
            var xhatHalf = [UInt16](repeating: 0, count: x.count), y = [Float](repeating: 0, count: x.count)
            XCTAssertEqual(ck_norm_act(path.cValue, CK_ACT_RELU, 1, x.count, x, nil, zeros, ones, ones, zeros,
                                       nil, &xhatHalf, &y), 0)
            XCTAssertEqual(xhatHalf, half(x), "\(path)")
            var decoded = [Float](repeating: 0, count: x.count)
            XCTAssertEqual(ck_norm_act(path.cValue, CK_ACT_RELU, 1, x.count, nil, xhatHalf, nil, nil, ones, zeros,
                                       &decoded, nil, &y), 0)
            XCTAssertEqual(bits(decoded), bits(unhalf(xhatHalf)), "\(path) decode")
        }
    }

    func testBackwardSumsMatchDerivativeThenLaneSums() {
        for path in DirectConvolution.supportedPaths {
            for a in activations {
                for plane in planes {
                    let n = channels * plane
                    let z = values(n, seed: UInt64(100 + plane), bound: 3)
                    let y = z.map { sigma(a, $0) }
                    let da = values(n, seed: UInt64(200 + plane), bound: 0.5)
                    let xhat = values(n, seed: UInt64(300 + plane), bound: 2)
                    let start: [Double] = values(2 * channels, seed: 7, bound: 1).map { Double($0) }
                    var dzRef = [Float](repeating: 0, count: n)
                    for i in 0..<n { dzRef[i] = sigmaPrime(a, y: y[i], dy: da[i]) }
                    var sumsRef = start
                    for c in 0..<channels {
                        let dz = Array(dzRef[(c * plane)..<((c + 1) * plane)]), xh = Array(xhat[(c * plane)..<((c + 1) * plane)])
                        sumsRef[c] += Double(laneSum(dz))
                        sumsRef[channels + c] += Double(laneSum(zip(dz, xh).map { $0 * $1 }))
                        // The same as the Kernels loop the fused pass replaced.
                        let (s1, s2) = Kernels.sumAndDot(dz, xh, plane)
                        XCTAssertEqual(s1.bitPattern, laneSum(dz).bitPattern)
                        XCTAssertEqual(s2.bitPattern, laneSum(zip(dz, xh).map { $0 * $1 }).bitPattern)
                    }
                    let label = "\(path) \(a) plane \(plane)"
                    var sums = start, dz = [Float](repeating: .nan, count: n)
                    XCTAssertEqual(ck_act_backward_sums(path.cValue, a.cValue, channels, plane, y, da, &dz, xhat, nil, &sums), 0)
                    XCTAssertEqual(bits(dz), bits(dzRef), "\(label): dz")
                    XCTAssertEqual(sums, sumsRef, "\(label): sums")
                    // In place, and with x̂ in half.
                    let xhatHalf = half(xhat), decoded = unhalf(xhatHalf)
                    var halfRef = start
                    for c in 0..<channels {
                        let dz = Array(dzRef[(c * plane)..<((c + 1) * plane)]), xh = Array(decoded[(c * plane)..<((c + 1) * plane)])
                        halfRef[c] += Double(laneSum(dz))
                        halfRef[channels + c] += Double(laneSum(zip(dz, xh).map { $0 * $1 }))
                    }
                    var inPlace = da
                    sums = start
                    inPlace.withUnsafeMutableBufferPointer { p in
                        XCTAssertEqual(ck_act_backward_sums(path.cValue, a.cValue, channels, plane, y, p.baseAddress!, p.baseAddress!,
                                                            nil, xhatHalf, &sums), 0)
                    }
                    XCTAssertEqual(bits(inPlace), bits(dzRef), "\(label): dz in place")
                    XCTAssertEqual(sums, halfRef, "\(label): sums with half x̂")
                    // And the sums are sums: against Double within Float rounding.
                    for c in 0..<channels {
                        var exact = 0.0
                        for i in 0..<plane { exact += Double(dzRef[c * plane + i]) }
                        XCTAssertEqual(sumsRef[c] - start[c], exact, accuracy: 1e-5 * Double(plane))
                    }
                }
            }
        }
    }

    func testInputGradientMatchesBatchNormLoop() {
        for path in DirectConvolution.supportedPaths {
            for plane in planes {
                let n = channels * plane
                let dy = values(n, seed: UInt64(400 + plane), bound: 1), xhat = values(n, seed: UInt64(500 + plane), bound: 2)
                let k = values(3 * channels, seed: 9, bound: 1)
                var coefficients: [(scale: Float, meanDy: Float, meanDyX: Float)] = []
                for c in 0..<channels { coefficients.append((scale: k[3 * c], meanDy: k[3 * c + 1], meanDyX: k[3 * c + 2])) }
                for useHalf in [false, true] {
                    let xh = useHalf ? unhalf(half(xhat)) : xhat
                    var expected = dy
                    BatchNorm.applyInputGradient(&expected, normalized: xh, coefficients, plane: plane)
                    var dz = dy
                    let status = useHalf ? ck_bn_input_gradient(path.cValue, channels, plane, &dz, nil, half(xhat), k)
                                         : ck_bn_input_gradient(path.cValue, channels, plane, &dz, xhat, nil, k)
                    XCTAssertEqual(status, 0)
                    XCTAssertEqual(bits(dz), bits(expected), "\(path) plane \(plane) half \(useHalf)")
                }
            }
        }
    }

    /// BatchNorm's statistics: the eight-lane sums the Swift loop (Kernels' sumAndSquares) had.
    func testChannelSumsMatchLaneSums() {
        for path in DirectConvolution.supportedPaths {
            for plane in planes {
                let x = values(channels * plane, seed: UInt64(600 + plane), bound: 3)
                var expected = values(2 * channels, seed: 8, bound: 1).map(Double.init)
                var sums = expected
                for c in 0..<channels {
                    let p = Array(x[(c * plane)..<((c + 1) * plane)])
                    expected[c] += Double(laneSum(p))
                    expected[channels + c] += Double(laneSum(p.map { $0 * $0 }))
                }
                XCTAssertEqual(ck_channel_sums(path.cValue, channels, plane, x, &sums), 0)
                XCTAssertEqual(sums, expected, "\(path) plane \(plane)")
            }
        }
    }

    func testFusedPassesRejectBadArguments() {
        var a: [Float] = [0], d: [Double] = [0, 0]
        XCTAssertEqual(ck_norm_act(CK_PATH_AUTO, CK_ACT_SIGMOID, 1, -1, a, nil, nil, nil, a, a, nil, nil, &a), -1)
        XCTAssertEqual(ck_norm_act(CK_PATH_AUTO, ck_activation(rawValue: 7), 1, 1, a, nil, nil, nil, a, a, nil, nil, &a), -1)
        XCTAssertEqual(ck_act_backward_sums(CK_PATH_AUTO, CK_ACT_SIGMOID, -1, 1, a, a, &a, a, nil, &d), -1)
        XCTAssertEqual(ck_bn_input_gradient(CK_PATH_AUTO, 1, -1, &a, a, nil, a), -1)
        XCTAssertEqual(ck_channel_sums(CK_PATH_AUTO, -1, 1, a, &d), -1)
    }
}
