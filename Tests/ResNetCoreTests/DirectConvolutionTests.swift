import XCTest
@testable import ResNetCore

/// The direct 3×3 convolutions, on every instruction-set path this CPU runs, against naive
/// loops in Double (forward, input gradient, weight and bias gradient), and one finite-difference
/// check of the gradients against the kernels' own forward.
final class DirectConvolutionTests: XCTestCase {
    struct Case {
        let n: Int, cin: Int, cout: Int, h: Int, w: Int, stride: Int
        var ho: Int { (h - 1) / stride + 1 }
        var wo: Int { (w - 1) / stride + 1 }
    }

    static let cases = [
        Case(n: 2, cin: 3, cout: 17, h: 5, w: 7, stride: 1),
        Case(n: 2, cin: 17, cout: 3, h: 7, w: 5, stride: 1),
        Case(n: 2, cin: 16, cout: 16, h: 28, w: 28, stride: 1),
        Case(n: 3, cin: 32, cout: 32, h: 14, w: 14, stride: 1),
        Case(n: 2, cin: 1, cout: 16, h: 28, w: 28, stride: 1),
        Case(n: 2, cin: 33, cout: 40, h: 9, w: 30, stride: 1),
        Case(n: 2, cin: 16, cout: 32, h: 28, w: 28, stride: 2),
        Case(n: 3, cin: 17, cout: 3, h: 7, w: 5, stride: 2),
        Case(n: 2, cin: 5, cout: 20, h: 13, w: 11, stride: 2),
        Case(n: 2, cin: 64, cout: 64, h: 8, w: 8, stride: 1),
        Case(n: 1, cin: 2, cout: 3, h: 1, w: 1, stride: 1),
        Case(n: 2, cin: 4, cout: 2, h: 2, w: 3, stride: 2),
    ]

    func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in rng.nextUniform(bound: 1) }
    }

    /// (y, dx, dw, db) by direct summation in Double.
    func reference(_ c: Case, x: [Float], w: [Float], b: [Float], dy: [Float])
        -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
        var y = [Double](repeating: 0, count: c.n * c.cout * c.ho * c.wo)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: c.cout)
        for s in 0..<c.n {
            for o in 0..<c.cout {
                for oy in 0..<c.ho {
                    for ox in 0..<c.wo {
                        let yi = ((s * c.cout + o) * c.ho + oy) * c.wo + ox
                        let g = Double(dy[yi])
                        var acc = Double(b[o])
                        db[o] += g
                        for i in 0..<c.cin {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let iy = oy * c.stride + ky - 1, ix = ox * c.stride + kx - 1
                                    guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                                    let xi = ((s * c.cin + i) * c.h + iy) * c.w + ix, wi = ((o * c.cin + i) * 3 + ky) * 3 + kx
                                    acc += Double(x[xi]) * Double(w[wi])
                                    dx[xi] += g * Double(w[wi])
                                    dw[wi] += g * Double(x[xi])
                                }
                            }
                        }
                        y[yi] = acc
                    }
                }
            }
        }
        let f = { (v: [Double]) in v.map { Float($0) } }
        return (f(y), f(dx), f(dw), f(db))
    }

    /// ‖a − b‖ / ‖b‖.
    func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var num = 0.0, den = 0.0
        for (u, v) in zip(a, b) { num += Double(u - v) * Double(u - v); den += Double(v) * Double(v) }
        return (num / max(den, 1e-300)).squareRoot()
    }

    func testEveryPathMatchesNaiveLoops() {
        let paths = DirectConvolution.supportedPaths
        XCTAssertTrue(paths.contains(.portable))
        XCTAssertEqual(paths.first, DirectConvolution.bestPath)
        for (k, c) in Self.cases.enumerated() {
            let seed = UInt64(10 * k)
            let x = values(c.n * c.cin * c.h * c.w, seed: seed + 1), w = values(c.cout * c.cin * 9, seed: seed + 2)
            let b = values(c.cout, seed: seed + 3), dy = values(c.n * c.cout * c.ho * c.wo, seed: seed + 4)
            let ref = reference(c, x: x, w: w, b: b, dy: dy)
            // The gradients accumulate: start from a known offset and subtract it afterwards.
            let dwStart = values(w.count, seed: seed + 5), dbStart = values(c.cout, seed: seed + 6)
            for path in paths {
                let conv = DirectConvolution(inputChannels: c.cin, outputChannels: c.cout, stride: c.stride, path: path)
                XCTAssertEqual(conv.path, path)
                XCTAssertTrue(conv.outputSize(height: c.h, width: c.w) == (c.ho, c.wo))
                var y = [Float](repeating: .nan, count: ref.y.count), yNoBias = y
                var dx = [Float](repeating: .nan, count: x.count)
                var dw = dwStart, db = dbStart
                conv.forward(x, batch: c.n, height: c.h, width: c.w, weights: w, bias: b, into: &y)
                conv.forward(x, batch: c.n, height: c.h, width: c.w, weights: w, bias: nil, into: &yNoBias)
                conv.inputGradient(dy, batch: c.n, height: c.h, width: c.w, weights: w, into: &dx)
                conv.weightGradient(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w,
                                    weightGradient: &dw, biasGradient: &db)
                let label = "\(path) n\(c.n) \(c.cin)->\(c.cout) \(c.h)x\(c.w) s\(c.stride)"
                XCTAssertLessThan(relativeError(y, ref.y), 1e-5, "forward \(label)")
                let yRefNoBias = ref.y.indices.map { ref.y[$0] - b[($0 / (c.ho * c.wo)) % c.cout] }
                XCTAssertLessThan(relativeError(yNoBias, yRefNoBias), 1e-5, "forward without bias \(label)")
                XCTAssertLessThan(relativeError(dx, ref.dx), 1e-5, "input gradient \(label)")
                let dwAdded = dw.indices.map { dw[$0] - dwStart[$0] }, dbAdded = db.indices.map { db[$0] - dbStart[$0] }
                XCTAssertLessThan(relativeError(dwAdded, ref.dw), 1e-5, "weight gradient \(label)")
                XCTAssertLessThan(relativeError(dbAdded, ref.db), 1e-5, "bias gradient \(label)")
                // Without a bias gradient the weight gradient is the same.
                var dw2 = [Float](repeating: 0, count: w.count)
                conv.weightGradient(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w,
                                    weightGradient: &dw2, biasGradient: nil)
                XCTAssertLessThan(relativeError(dw2, ref.dw), 1e-5, "weight gradient without bias \(label)")
                // Both gradients in one call, with and without the input gradient.
                var dx3 = [Float](repeating: .nan, count: x.count), dw3 = dwStart, db3 = dbStart
                conv.backward(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w, weights: w,
                              inputGradient: &dx3, weightGradient: &dw3, biasGradient: &db3)
                XCTAssertLessThan(relativeError(dx3, ref.dx), 1e-5, "fused input gradient \(label)")
                XCTAssertLessThan(relativeError(dw3.indices.map { dw3[$0] - dwStart[$0] }, ref.dw), 1e-5,
                                  "fused weight gradient \(label)")
                XCTAssertLessThan(relativeError(db3.indices.map { db3[$0] - dbStart[$0] }, ref.db), 1e-5,
                                  "fused bias gradient \(label)")
                // Streaming stores give the same numbers.
                var streaming = conv
                streaming.outputWrites = .streaming
                var y5 = [Float](repeating: .nan, count: ref.y.count), dx5 = [Float](repeating: .nan, count: x.count)
                var dw5 = [Float](repeating: 0, count: w.count)
                streaming.forward(x, batch: c.n, height: c.h, width: c.w, weights: w, bias: b, into: &y5)
                streaming.backward(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w, weights: w,
                                   inputGradient: &dx5, weightGradient: &dw5, biasGradient: nil)
                XCTAssertTrue(y5 == y && dx5 == dx3, "streaming stores \(label)")
                var dw4 = [Float](repeating: 0, count: w.count)
                conv.backward(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w, weights: w,
                              inputGradient: nil, weightGradient: &dw4, biasGradient: nil)
                XCTAssertLessThan(relativeError(dw4, ref.dw), 1e-5, "fused weight gradient only \(label)")
            }
        }
    }

    /// Calls whose output reaches 4 MB write it with streaming stores, from the first whole cache
    /// line of each row on: at any alignment of the output they must give what calls on one
    /// image at a time (ordinary stores) give — bit for bit, as both run the same arithmetic.
    func testLargeCallsMatchPerImageCalls() {
        // Planes of 784 floats (every row alike), of 196 (rows differ: staged) and stride 2.
        for c in [Case(n: 90, cin: 16, cout: 16, h: 28, w: 28, stride: 1),
                  Case(n: 170, cin: 32, cout: 32, h: 14, w: 14, stride: 1),
                  Case(n: 45, cin: 32, cout: 16, h: 28, w: 28, stride: 2)] {
            let x = values(c.n * c.cin * c.h * c.w, seed: 71), w = values(c.cout * c.cin * 9, seed: 72)
            let b = values(c.cout, seed: 73), dy = values(c.n * c.cout * c.ho * c.wo, seed: 74)
            let inImage = c.cin * c.h * c.w, outImage = c.cout * c.ho * c.wo
            for path in DirectConvolution.supportedPaths {
                let conv = DirectConvolution(inputChannels: c.cin, outputChannels: c.cout, stride: c.stride, path: path)
                var yOne = [Float](repeating: 0, count: dy.count), dxOne = [Float](repeating: 0, count: x.count)
                x.withUnsafeBufferPointer { x in
                    dy.withUnsafeBufferPointer { dy in
                        yOne.withUnsafeMutableBufferPointer { y in
                            dxOne.withUnsafeMutableBufferPointer { dx in
                                for s in 0..<c.n {
                                    conv.forward(x.baseAddress! + s * inImage, batch: 1, height: c.h, width: c.w,
                                                 weights: w, bias: b, into: y.baseAddress! + s * outImage)
                                    conv.inputGradient(dy.baseAddress! + s * outImage, batch: 1, height: c.h,
                                                       width: c.w, weights: w, into: dx.baseAddress! + s * inImage)
                                }
                            }
                        }
                    }
                }
                for offset in [0, 1, 3, 8] {
                    var y = [Float](repeating: .nan, count: dy.count + offset)
                    var dx = [Float](repeating: .nan, count: x.count + offset)
                    var dx2 = dx, dw = [Float](repeating: 0, count: w.count)
                    y.withUnsafeMutableBufferPointer { y in
                        conv.forward(x, batch: c.n, height: c.h, width: c.w, weights: w, bias: b,
                                     into: y.baseAddress! + offset)
                    }
                    dx.withUnsafeMutableBufferPointer { dx in
                        conv.inputGradient(dy, batch: c.n, height: c.h, width: c.w, weights: w,
                                           into: dx.baseAddress! + offset)
                    }
                    dx2.withUnsafeMutableBufferPointer { dx in
                        conv.backward(input: x, outputGradient: dy, batch: c.n, height: c.h, width: c.w, weights: w,
                                      inputGradient: dx.baseAddress! + offset, weightGradient: &dw, biasGradient: nil)
                    }
                    let label = "\(path) \(c.cin)->\(c.cout) s\(c.stride) offset \(offset)"
                    XCTAssertTrue(Array(y[offset...]) == yOne, "forward \(label)")
                    XCTAssertTrue(Array(dx[offset...]) == dxOne, "input gradient \(label)")
                    XCTAssertTrue(Array(dx2[offset...]) == dxOne, "fused input gradient \(label)")
                }
            }
        }
    }

    /// L = Σ r ⊙ conv(x, w, b): its gradients from inputGradient/weightGradient against central
    /// differences of the kernels' forward (L is linear in each value, so only rounding remains).
    func testGradientsMatchFiniteDifferences() {
        for stride in [1, 2] {
            let c = Case(n: 2, cin: 3, cout: 5, h: 6, w: 7, stride: stride)
            let conv = DirectConvolution(inputChannels: c.cin, outputChannels: c.cout, stride: stride)
            var x = values(c.n * c.cin * c.h * c.w, seed: 91), w = values(c.cout * c.cin * 9, seed: 92)
            var b = values(c.cout, seed: 93)
            let r = values(c.n * c.cout * c.ho * c.wo, seed: 94)
            func loss() -> Double {
                var y = [Float](repeating: 0, count: r.count)
                conv.forward(x, batch: c.n, height: c.h, width: c.w, weights: w, bias: b, into: &y)
                return zip(y, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count)
            var db = [Float](repeating: 0, count: c.cout)
            conv.inputGradient(r, batch: c.n, height: c.h, width: c.w, weights: w, into: &dx)
            conv.weightGradient(input: x, outputGradient: r, batch: c.n, height: c.h, width: c.w,
                                weightGradient: &dw, biasGradient: &db)
            let eps: Float = 0.01
            func difference(_ bump: (Float) -> Void) -> Double {
                bump(eps)
                let up = loss()
                bump(-2 * eps)
                let down = loss()
                bump(eps)
                return (up - down) / Double(2 * eps)
            }
            for i in Swift.stride(from: 0, to: x.count, by: 7) {
                XCTAssertEqual(difference { x[i] += $0 }, Double(dx[i]), accuracy: 2e-3, "dx[\(i)] s\(stride)")
            }
            for i in Swift.stride(from: 0, to: w.count, by: 5) {
                XCTAssertEqual(difference { w[i] += $0 }, Double(dw[i]), accuracy: 2e-3, "dw[\(i)] s\(stride)")
            }
            for i in 0..<c.cout {
                XCTAssertEqual(difference { b[i] += $0 }, Double(db[i]), accuracy: 2e-3, "db[\(i)] s\(stride)")
            }
        }
    }
}
