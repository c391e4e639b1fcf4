import XCTest
@testable import ResNetCore

/// Half-precision storage of saved x̂ against Swift's own Float16 conversion, and the fused
/// BatchNorm → σ layer against the unfused pair.
final class HalfPrecisionTests: XCTestCase {
    /// pack/unpack agree bit for bit with Float16(x) (round to nearest even) over the normal half
    /// range — random values, exact halves, ties and the range ends — at every position of the
    /// vectorised loop and its tail.
    func testPackMatchesFloat16InTheNormalRange() {
        var rng = SplitMix64(seed: 5)
        var values: [Float] = [1, -1, 0.5, 65504, -65504, 6.103515625e-05, -6.103515625e-05, 1 + 1.0 / 2048,
                               1 + 3.0 / 2048, 2049, 2051, 0.1, -3.3333333, 1000.37]
        for _ in 0..<5000 {
            let magnitude = Float(pow(2.0, Double(rng.nextUniform(bound: 1)) * 15))   // 2^-15 … 2^15
            values.append(rng.nextUniform(bound: 1) < 0 ? -magnitude : magnitude)
        }
        values = values.filter { abs($0) >= 6.103515625e-05 }
        for count in [values.count, values.count - 3, 7] {
            var half = [UInt16](repeating: 0, count: count)
            var back = [Float](repeating: .nan, count: count)
            HalfPrecision.pack(values, into: &half, count: count)
            HalfPrecision.unpack(half, into: &back, count: count)
            for i in 0..<count {
                let reference = Float16(values[i])
                XCTAssertEqual(half[i], reference.bitPattern, "bits of \(values[i])")
                XCTAssertEqual(back[i], Float(reference), "value of \(values[i])")
                XCTAssertLessThanOrEqual(abs(back[i] - values[i]), abs(values[i]) * 0x1p-11, "rounding of \(values[i])")
            }
        }
    }

    /// Outside the normal range: zeros and subnormals become (signed) zero, beyond ±65504 and
    /// non-finite values saturate (a saved x̂ never is; saturation keeps a bad value finite).
    func testPackFlushesTinyAndSaturatesLarge() {
        let values: [Float] = [0, -0.0, 1e-6, -3e-5, 65520, -1e9, .infinity, -.infinity]
        var half = [UInt16](repeating: 1, count: values.count)
        var back = [Float](repeating: .nan, count: values.count)
        HalfPrecision.pack(values, into: &half, count: values.count)
        HalfPrecision.unpack(half, into: &back, count: values.count)
        XCTAssertEqual(back, [0, 0, 0, 0, 65504, -65504, 65504, -65504])
        XCTAssertEqual(back[1].sign, .minus)
        XCTAssertEqual(back[3].sign, .minus)
    }

    func makeNormAct(_ h: Harness, channels: Int, activation: Activation) -> (NormAct, [Layer]) {
        let bn = BatchNorm("bn", channels: channels, layout: h.layout)
        return (NormAct(norm: bn, activation: activation), [bn.freshCopy(), ActivationLayer(activation)])
    }

    /// NormAct equals BatchNorm followed by the activation: forward, running statistics,
    /// backward (exactly up to rounding with Float x̂; within the half bound otherwise) and
    /// inference.
    func testNormActMatchesUnfusedPair() throws {
        for storage in HalfPrecision.Storage.allCases {
            for (shape, activation) in [([3, 4, 5, 5], Activation.sigmoid), ([2, 3, 4, 6], .tanh), ([5, 3], .relu)] {
                let h = Harness()
                h.execution.savedActivations = storage
                let (fused, unfused) = makeNormAct(h, channels: shape[1], activation: activation)
                h.allocate()
                var rng = SplitMix64(seed: 41)
                for i in h.parameters.indices { h.parameters[i] += rng.nextUniform(bound: 0.5) }
                let x = randomTensor(shape, seed: 42, bound: 3)
                let before = h.state
                let y = try h.with { try fused.forward(x, training: true, buffers: $0) }
                let stateFused = h.state
                h.state = before
                let yRef = try h.with { try runLayers(unfused, x, $0) }
                XCTAssertLessThan(maxAbsDifference(y.data, yRef.data), 1e-5, "forward \(shape) \(activation)")
                XCTAssertLessThan(maxAbsDifference(stateFused, h.state), 1e-6, "running statistics")

                let dy = randomTensor(shape, seed: 43)
                for i in h.gradients.indices { h.gradients[i] = 0 }
                let dx = try h.with { try fused.backward(dy, buffers: $0) }
                let g = h.gradients
                for i in h.gradients.indices { h.gradients[i] = 0 }
                let dxRef = try h.with { try runLayersBackward(unfused, dy, $0) }
                let bound: (Float, [Float]) -> Float = { fixed, ref in
                    storage == .single ? fixed : 4e-3 * max(1, ref.map(abs).max() ?? 0)
                }
                let dxError = maxAbsDifference(dx.data, dxRef.data), gError = maxAbsDifference(g, h.gradients)
                print("NormAct \(shape) \(activation) x̂ in \(storage): input gradient off by \(dxError), parameters by \(gError)")
                XCTAssertLessThan(dxError, bound(1e-5, dxRef.data), "input gradient \(shape) \(storage)")
                XCTAssertLessThan(gError, bound(1e-4, h.gradients), "parameter gradients \(shape) \(storage)")

                let yInfer = try h.with { try fused.forward(x, training: false, buffers: $0) }
                var t = x
                for l in unfused { t = try h.with { try l.forward(t, training: false, buffers: $0) } }
                XCTAssertLessThan(maxAbsDifference(yInfer.data, t.data), 1e-5, "inference")
                XCTAssertThrowsError(try h.with { try fused.backward(dy, buffers: $0) }, "backward without forward")
            }
        }
    }

    func testNormActFiniteDifferences() throws {
        for storage in HalfPrecision.Storage.allCases {
            let h = Harness()
            h.execution.savedActivations = storage
            let (fused, _) = makeNormAct(h, channels: 3, activation: .sigmoid)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([2, 3, 4, 5], seed: 44),
                                      forward: { try fused.forward($0, training: true, buffers: $1) },
                                      backward: { try fused.backward($0, buffers: $1) })
            print("NormAct FD (x̂ in \(storage)): max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    /// NormAct given tensors it owns writes its output and its input gradient into their storage,
    /// with the bits of the copying forms.
    func testNormActOwnedInputsAreReusedWithTheSameBits() throws {
        for storage in HalfPrecision.Storage.allCases {
            let shape = [3, 4, 5, 5]
            let h = Harness()
            h.execution.savedActivations = storage
            let (fused, _) = makeNormAct(h, channels: shape[1], activation: .sigmoid)
            h.allocate()
            let (borrowed, owned) = try borrowedAndOwnedPasses(fused, h, x: randomTensor(shape, seed: 45, bound: 3),
                                                               dy: randomTensor(shape, seed: 46))
            XCTAssertEqual(owned.y, borrowed.y, "\(storage)")
            XCTAssertEqual(owned.dx, borrowed.dx, "\(storage)")
            XCTAssertEqual(h.gradients, borrowed.gradients, "\(storage)")
            XCTAssertEqual(h.state, borrowed.state, "\(storage)")
            XCTAssertTrue(owned.forwardInPlace, "forward in place")
            XCTAssertTrue(owned.backwardInPlace, "backward in place")
        }
    }
}
