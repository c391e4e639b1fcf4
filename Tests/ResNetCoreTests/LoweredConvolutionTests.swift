import XCTest
@testable import ResNetCore

/// The general convolution (`LoweredConvolution`, through `Conv2d` with lowered execution) against
/// plain loops over the definition, at shapes the direct kernels do not take as well as 3×3 ones:
/// forward, dX, dW and the bias gradient, with and without the input gradient.
final class LoweredConvolutionTests: XCTestCase {
    struct Shape { var kernel, stride, padding: Int }
    let shapes = [Shape(kernel: 3, stride: 1, padding: 1), Shape(kernel: 5, stride: 1, padding: 2),
                  Shape(kernel: 3, stride: 2, padding: 1), Shape(kernel: 3, stride: 1, padding: 0),
                  Shape(kernel: 1, stride: 1, padding: 0), Shape(kernel: 2, stride: 2, padding: 1)]

    /// y, dW, db and dX by the definition (cross-correlation, zero padding).
    func reference(_ x: Tensor, _ dy: Tensor, weights w: [Float], bias b: [Float], cout: Int,
                   _ s: Shape) -> (y: [Float], dw: [Float], db: [Float], dx: [Float]) {
        let (n, cin, hh, ww) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = (dy.shape[2], dy.shape[3]), k = s.kernel
        var y = [Float](repeating: 0, count: n * cout * ho * wo), dw = [Float](repeating: 0, count: w.count)
        var db = [Float](repeating: 0, count: cout), dx = [Float](repeating: 0, count: x.count)
        for i in 0..<n {
            for o in 0..<cout {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let g = dy[i, o, oy, ox]
                        db[o] += g
                        var acc = b[o]
                        for c in 0..<cin {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx
                                    guard iy >= 0, iy < hh, ix >= 0, ix < ww else { continue }
                                    let wi = ((o * cin + c) * k + ky) * k + kx
                                    acc += w[wi] * x[i, c, iy, ix]
                                    dw[wi] += g * x[i, c, iy, ix]
                                    dx[((i * cin + c) * hh + iy) * ww + ix] += g * w[wi]
                                }
                            }
                        }
                        y[((i * cout + o) * ho + oy) * wo + ox] = acc
                    }
                }
            }
        }
        return (y, dw, db, dx)
    }

    func testMatchesTheDefinition() throws {
        // Batch 7 and a 13-wide plane: odd sizes everywhere.
        let (n, cin, cout, hh, ww) = (7, 2, 3, 5, 13)
        for shape in shapes {
            for inputGradient in [true, false] {
                let h = Harness()
                h.execution.convolutions = .lowered
                let layer = Conv2d("conv", inputChannels: cin, outputChannels: cout, kernelSize: shape.kernel,
                                   stride: shape.stride, padding: shape.padding, bias: true, initialization: .xavier,
                                   computesInputGradient: inputGradient, layout: h.layout)
                h.allocate()
                let x = randomTensor([n, cin, hh, ww], seed: 21)
                let (ho, wo) = layer.outputSize(height: hh, width: ww)
                let dy = randomTensor([n, cout, ho, wo], seed: 22)
                let (y, dx) = try h.with { b -> (Tensor, Tensor) in
                    let y = try layer.forward(x, training: true, buffers: b)
                    return (y, try layer.backward(dy, buffers: b))
                }
                let weights = Array(h.parameters[layer.weightOffset..<(layer.weightOffset + cout * cin * shape.kernel * shape.kernel)])
                let bias = Array(h.parameters[layer.biasOffset!..<(layer.biasOffset! + cout)])
                let ref = reference(x, dy, weights: weights, bias: bias, cout: cout, shape)
                let dW = Array(h.gradients[layer.weightOffset..<(layer.weightOffset + weights.count)])
                let dB = Array(h.gradients[layer.biasOffset!..<(layer.biasOffset! + cout)])
                print("lowered \(shape) dX \(inputGradient): max |diff| y \(maxAbsDifference(y.data, ref.y)) dW \(maxAbsDifference(dW, ref.dw))")
                XCTAssertLessThan(maxAbsDifference(y.data, ref.y), 1e-4, "\(shape)")
                XCTAssertLessThan(maxAbsDifference(dW, ref.dw), 1e-4, "\(shape)")
                XCTAssertLessThan(maxAbsDifference(dB, ref.db), 1e-4, "\(shape)")
                if inputGradient {
                    XCTAssertLessThan(maxAbsDifference(dx.data, ref.dx), 1e-4, "\(shape)")
                } else {
                    XCTAssertEqual(dx.count, 0)
                }
            }
        }
    }

    /// The choice of back-end: direct only for 3×3, padding 1, stride 1 or 2, and only when asked.
    func testBackEndChoice() {
        func kind(_ k: Int, _ s: Int, _ p: Int, _ c: ExecutionOptions.Convolutions) -> String {
            let conv = Conv2d(inputChannels: 2, outputChannels: 2, kernelSize: k, stride: s, padding: p,
                              weightOffset: 0, biasOffset: nil)
            if case .direct = conv.convolution(ExecutionOptions(convolutions: c)) { return "direct" }
            return "lowered"
        }
        XCTAssertEqual(kind(3, 1, 1, .direct), "direct")
        XCTAssertEqual(kind(3, 2, 1, .direct), "direct")
        XCTAssertEqual(kind(3, 1, 1, .lowered), "lowered")
        XCTAssertEqual(kind(3, 1, 0, .direct), "lowered")
        XCTAssertEqual(kind(5, 1, 2, .direct), "lowered")
        XCTAssertEqual(kind(1, 1, 0, .direct), "lowered")
    }
}
