import XCTest
@testable import ResNetCore

/// Conv2d's backward lowers several images side by side for one weight-gradient GEMM
/// (`imagesPerGradientBlock`); every block size must give the direct-loop gradients.
final class ConvGradientBlockTests: XCTestCase {
    func testBlockedBackwardMatchesDirectLoops() throws {
        // batch 5 leaves a partial last block for sizes 2 and 4.
        for (stride, padding) in [(1, 1), (2, 1), (1, 0)] {
            for block in [1, 2, 4, 8] {
                let (n, cin, cout, hh, ww, k) = (5, 2, 3, 6, 5, 3)
                let h = Harness()
                h.execution.imagesPerGradientBlock = block
                h.execution.convolutions = .lowered   // the blocked OpenBLAS paths
                let conv = Conv2d("conv", inputChannels: cin, outputChannels: cout, kernelSize: k, stride: stride,
                                  padding: padding, bias: true, initialization: .xavier, layout: h.layout)
                h.allocate()
                let x = randomTensor([n, cin, hh, ww], seed: 11)
                let (ho, wo) = conv.outputSize(height: hh, width: ww)
                let dy = randomTensor([n, cout, ho, wo], seed: 12)
                let dx = try h.with { b -> Tensor in
                    _ = try conv.forward(x, training: true, buffers: b)
                    return try conv.backward(dy, buffers: b)
                }
                var refW = [Float](repeating: 0, count: cout * cin * k * k)
                var refB = [Float](repeating: 0, count: cout)
                var refX = [Float](repeating: 0, count: x.count)
                for s in 0..<n {
                    for o in 0..<cout {
                        for oy in 0..<ho {
                            for ox in 0..<wo {
                                let g = dy[s, o, oy, ox]
                                refB[o] += g
                                for i in 0..<cin {
                                    for ky in 0..<k {
                                        for kx in 0..<k {
                                            let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                                            guard iy >= 0, iy < hh, ix >= 0, ix < ww else { continue }
                                            let wi = ((o * cin + i) * k + ky) * k + kx
                                            refW[wi] += g * x[s, i, iy, ix]
                                            refX[((s * cin + i) * hh + iy) * ww + ix] += g * h.parameters[conv.weightOffset + wi]
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                let dW = Array(h.gradients[conv.weightOffset..<(conv.weightOffset + refW.count)])
                let dB = Array(h.gradients[conv.biasOffset!..<(conv.biasOffset! + cout)])
                let diffs = (maxAbsDifference(dW, refW), maxAbsDifference(dB, refB), maxAbsDifference(dx.data, refX))
                print("Conv2d block \(block) stride \(stride) pad \(padding): max |diff| dW \(diffs.0) db \(diffs.1) dX \(diffs.2)")
                XCTAssertLessThan(diffs.0, 1e-4)
                XCTAssertLessThan(diffs.1, 1e-4)
                XCTAssertLessThan(diffs.2, 1e-4)
            }
        }
    }
}
