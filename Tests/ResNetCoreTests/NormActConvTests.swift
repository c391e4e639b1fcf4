import XCTest
@testable import ResNetCore

/// The fused BatchNorm → σ → Conv2d layer against the three unfused layers, and by finite differences.
final class NormActConvTests: XCTestCase {
    struct Case { var batch, channels, out, size, kernel: Int; var bias: Bool; var activation: Activation }
    let cases = [
        Case(batch: 3, channels: 2, out: 3, size: 5, kernel: 3, bias: true, activation: .sigmoid),
        Case(batch: 2, channels: 3, out: 2, size: 4, kernel: 3, bias: false, activation: .tanh),
        Case(batch: 2, channels: 2, out: 2, size: 3, kernel: 1, bias: true, activation: .relu),
    ]

    /// A harness running `execution` with `c`'s layers registered and its buffers allocated.
    func prepared(_ c: Case, _ execution: ExecutionOptions) -> (Harness, fused: NormActConv, unfused: [Layer]) {
        let h = Harness()
        h.execution = execution
        let (fused, unfused) = make(c, h)
        h.allocate()
        return (h, fused, unfused)
    }

    func make(_ c: Case, _ h: Harness) -> (fused: NormActConv, unfused: [Layer]) {
        let bn = BatchNorm("bn", channels: c.channels, layout: h.layout)
        let conv = Conv2d("conv", inputChannels: c.channels, outputChannels: c.out, kernelSize: c.kernel,
                          stride: 1, padding: c.kernel / 2, bias: c.bias, initialization: .xavier, layout: h.layout)
        return (NormActConv(norm: bn, activation: c.activation, conv: conv),
                [bn.freshCopy(), ActivationLayer(c.activation), conv.freshCopy()])
    }

    /// Gradient tolerance: the Float path is the unfused computation reordered (1e-5 / 1e-4);
    /// with x̂ saved in half, backward sees x̂ with a relative error ≤ 2⁻¹¹ ≈ 4.9e-4, which
    /// every gradient inherits summed over the batch: allowed 4e-3 of the largest gradient (8×).
    func tolerance(_ storage: HalfPrecision.Storage, _ fixed: Float, _ reference: [Float]) -> Float {
        storage == .single ? fixed : 4e-3 * max(1, reference.map(abs).max() ?? 0)
    }

    /// Both ways of running the convolution, each with x̂ saved in both precisions.
    let executions = ExecutionOptions.Convolutions.allCases.flatMap { convolutions in
        HalfPrecision.Storage.allCases.map { ExecutionOptions(savedActivations: $0, convolutions: convolutions, imagesPerFusedBlock: 2) }
    }

    func testForwardAndBackwardMatchUnfusedLayers() throws {
        for execution in executions {
          let storage = execution.savedActivations
          for c in cases {
            let (h, fused, unfused) = prepared(c, execution)
            let x = randomTensor([c.batch, c.channels, c.size, c.size], seed: 21, bound: 2)
            let stateBefore = h.state
            let yFused = try h.with { try fused.forward(x, training: true, buffers: $0) }
            let stateFused = h.state
            h.state = stateBefore
            let yRef = try h.with { try runLayers(unfused, x, $0) }
            XCTAssertLessThan(maxAbsDifference(yFused.data, yRef.data), 1e-5, "forward \(c)")
            XCTAssertLessThan(maxAbsDifference(stateFused, h.state), 1e-6, "running statistics \(c)")

            let dy = randomTensor(yRef.shape, seed: 22)
            for i in h.gradients.indices { h.gradients[i] = 0 }
            let dxFused = try h.with { try fused.backward(dy, buffers: $0) }
            let gFused = h.gradients
            for i in h.gradients.indices { h.gradients[i] = 0 }
            let dxRef = try h.with { try runLayersBackward(unfused, dy, $0) }
            XCTAssertLessThan(maxAbsDifference(dxFused.data, dxRef.data), tolerance(storage, 1e-5, dxRef.data),
                              "input gradient \(c) \(storage)")
            XCTAssertLessThan(maxAbsDifference(gFused, h.gradients), tolerance(storage, 1e-4, h.gradients),
                              "parameter gradients \(c) \(storage)")
            print("NormActConv \(c) x̂ in \(storage): input gradient off by \(maxAbsDifference(dxFused.data, dxRef.data)), parameters by \(maxAbsDifference(gFused, h.gradients))")

            // Inference: running statistics, nothing saved, same as the unfused layers.
            let yInfer = try h.with { try fused.forward(x, training: false, buffers: $0) }
            var t = x
            for l in unfused { t = try h.with { try l.forward(t, training: false, buffers: $0) } }
            XCTAssertLessThan(maxAbsDifference(yInfer.data, t.data), 1e-5, "inference \(c)")
          }
        }
    }

    func testBackwardFiniteDifferences() throws {
        for convolutions in ExecutionOptions.Convolutions.allCases {
        for c in cases where c.activation != .relu {   // ReLU's kink makes central differences unreliable
            let h = Harness()
            h.execution.convolutions = convolutions
            let (fused, _) = make(c, h)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([c.batch, c.channels, c.size, c.size], seed: 23),
                                      forward: { try fused.forward($0, training: true, buffers: $1) },
                                      backward: { try fused.backward($0, buffers: $1) })
            print("NormActConv \(c) \(convolutions) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
        }
    }

    func testSynchronisedStatisticsMatchUnfused() throws {
      for execution in executions {
        let storage = execution.savedActivations
        let c = cases[0]
        let h = Harness()
        h.execution = execution
        let (fused, unfused) = make(c, h)
        h.allocate()
        h.reducer = LayerTests.DoublingReducer()
        let x = randomTensor([c.batch, c.channels, c.size, c.size], seed: 24)
        let dy = randomTensor([c.batch, c.out, c.size, c.size], seed: 25)
        let state = h.state
        let y1 = try h.with { try fused.forward(x, training: true, buffers: $0) }
        let dx1 = try h.with { try fused.backward(dy, buffers: $0) }
        let g1 = h.gradients
        h.state = state
        for i in h.gradients.indices { h.gradients[i] = 0 }
        let y2 = try h.with { try runLayers(unfused, x, $0) }
        let dx2 = try h.with { try runLayersBackward(unfused, dy, $0) }
        XCTAssertLessThan(maxAbsDifference(y1.data, y2.data), 1e-5)
        XCTAssertLessThan(maxAbsDifference(dx1.data, dx2.data), tolerance(storage, 1e-5, dx2.data), "\(storage)")
        XCTAssertLessThan(maxAbsDifference(g1, h.gradients), tolerance(storage, 1e-4, h.gradients), "\(storage)")
      }
    }

    /// Forward of an owned input and backward of an owned gradient write into the storage they
    /// were given (when input and output images have the same size), with the bits of the
    /// copying forms; the shapes that differ fall back to a new tensor.
    func testOwnedInputsAreReusedWithTheSameBits() throws {
        for execution in executions {
            for c in cases {
                let (h, fused, _) = prepared(c, execution)
                let x = randomTensor([c.batch, c.channels, c.size, c.size], seed: 26, bound: 2)
                let dy = randomTensor([c.batch, c.out, c.size, c.size], seed: 27)
                let (borrowed, owned) = try borrowedAndOwnedPasses(fused, h, x: x, dy: dy)
                XCTAssertEqual(owned.y, borrowed.y, "forward \(c) \(execution)")
                XCTAssertEqual(owned.dx, borrowed.dx, "input gradient \(c) \(execution)")
                XCTAssertEqual(h.gradients, borrowed.gradients, "parameter gradients \(c) \(execution)")
                XCTAssertEqual(h.state, borrowed.state, "running statistics \(c)")
                let sameSize = c.channels == c.out
                XCTAssertEqual(owned.forwardInPlace, sameSize, "forward in place \(c)")
                XCTAssertEqual(owned.backwardInPlace, sameSize, "backward in place \(c)")
            }
        }
    }

    /// The input layer's case: the layer recomputes its input from the convolution before it
    /// (which keeps its own input) instead of keeping x̂. Same output, input gradient and
    /// parameter gradients, bit for bit, as the layer that keeps x̂; nothing activation-sized kept.
    func testRecomputedInputGivesTheBitsOfKeptInput() throws {
        for execution in executions {
            for stemChannels in [1, 3] {
                let c = Case(batch: 5, channels: 4, out: 4, size: 6, kernel: 3, bias: true, activation: .sigmoid)
                let h = Harness()
                h.execution = execution
                let stem = Conv2d("stem", inputChannels: stemChannels, outputChannels: c.channels, kernelSize: 3,
                                  stride: 1, padding: 1, bias: false, initialization: .xavier,
                                  computesInputGradient: false, layout: h.layout)
                let (kept, _) = make(c, h)
                let recomputing = kept.freshCopy() as! NormActConv
                recomputing.recomputesInput = stem
                h.allocate()
                let images = randomTensor([c.batch, stemChannels, c.size, c.size], seed: 28, bound: 2)
                let dy = randomTensor([c.batch, c.out, c.size, c.size], seed: 29)
                let state = h.state
                func run(_ layer: NormActConv) throws -> (y: Tensor, dz: Tensor, gradients: [Float], state: [Float]) {
                    h.state = state
                    for i in h.gradients.indices { h.gradients[i] = 0 }
                    let z = try h.with { try stem.forward(images, training: true, buffers: $0) }
                    let y = try h.with { try layer.forward(z, training: true, buffers: $0) }
                    if layer.recomputesInput != nil { XCTAssertNil(layer.saved, "x̂ kept") }
                    let dz = try h.with { try layer.backward(dy, buffers: $0) }
                    _ = try h.with { try stem.backward(dz, buffers: $0) }
                    return (y, dz, h.gradients, h.state)
                }
                let a = try run(kept), b = try run(recomputing)
                XCTAssertEqual(b.y, a.y, "output \(execution) stem \(stemChannels)")
                XCTAssertEqual(b.dz, a.dz, "input gradient \(execution) stem \(stemChannels)")
                XCTAssertEqual(b.gradients, a.gradients, "parameter gradients \(execution) stem \(stemChannels)")
                XCTAssertEqual(b.state, a.state, "running statistics \(execution) stem \(stemChannels)")
                XCTAssertNil(recomputing.saved)
                // Inference keeps nothing and needs nothing recomputed.
                let z = try h.with { try stem.forward(images, training: false, buffers: $0) }
                XCTAssertEqual(try h.with { try recomputing.forward(z, training: false, buffers: $0) },
                               try h.with { try kept.forward(z, training: false, buffers: $0) })
            }
        }
    }
}
