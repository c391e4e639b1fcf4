import XCTest
@testable import ResNetCore

/// Conv2d's stride-1 "same" path stacks `imagesPerShiftedBlock` images into one set of
/// shifted-copy GEMMs; every block size (including a partial last block) must give the
/// direct-loop forward output and gradients.
final class ShiftedBlockTests: XCTestCase {
    func testStackedShiftedConvolutionMatchesDirectLoops() throws {
        // width ≥ 12 selects the shifted-copy path; batch 7 leaves partial blocks for 2, 3, 4.
        for k in [3, 5] {
            for block in [1, 2, 3, 4, 8] {
                let (n, cin, cout, hh, ww) = (7, 2, 3, 5, 13)
                let padding = (k - 1) / 2
                let h = Harness()
                h.execution.imagesPerShiftedBlock = block
                h.execution.convolutions = .lowered   // the blocked OpenBLAS paths
                let conv = Conv2d("conv", inputChannels: cin, outputChannels: cout, kernelSize: k, stride: 1,
                                  padding: padding, bias: true, initialization: .xavier, layout: h.layout)
                h.allocate()
                let x = randomTensor([n, cin, hh, ww], seed: 21)
                let dy = randomTensor([n, cout, hh, ww], seed: 22)
                let (y, dx) = try h.with { b -> (Tensor, Tensor) in
                    let y = try conv.forward(x, training: true, buffers: b)
                    return (y, try conv.backward(dy, buffers: b))
                }
                var refY = [Float](repeating: 0, count: n * cout * hh * ww)
                var refW = [Float](repeating: 0, count: cout * cin * k * k)
                var refB = [Float](repeating: 0, count: cout)
                var refX = [Float](repeating: 0, count: x.count)
                for s in 0..<n {
                    for o in 0..<cout {
                        for oy in 0..<hh {
                            for ox in 0..<ww {
                                let g = dy[s, o, oy, ox]
                                refB[o] += g
                                var acc = h.parameters[conv.biasOffset! + o]
                                for i in 0..<cin {
                                    for ky in 0..<k {
                                        for kx in 0..<k {
                                            let iy = oy - padding + ky, ix = ox - padding + kx
                                            guard iy >= 0, iy < hh, ix >= 0, ix < ww else { continue }
                                            let wi = ((o * cin + i) * k + ky) * k + kx
                                            let wv = h.parameters[conv.weightOffset + wi]
                                            acc += wv * x[s, i, iy, ix]
                                            refW[wi] += g * x[s, i, iy, ix]
                                            refX[((s * cin + i) * hh + iy) * ww + ix] += g * wv
                                        }
                                    }
                                }
                                refY[((s * cout + o) * hh + oy) * ww + ox] = acc
                            }
                        }
                    }
                }
                let dW = Array(h.gradients[conv.weightOffset..<(conv.weightOffset + refW.count)])
                let dB = Array(h.gradients[conv.biasOffset!..<(conv.biasOffset! + cout)])
                let diffs = (maxAbsDifference(y.data, refY), maxAbsDifference(dW, refW),
                             maxAbsDifference(dB, refB), maxAbsDifference(dx.data, refX))
                print("Conv2d shifted block \(block) k \(k): max |diff| y \(diffs.0) dW \(diffs.1) db \(diffs.2) dX \(diffs.3)")
                XCTAssertLessThan(diffs.0, 1e-4)
                XCTAssertLessThan(diffs.1, 1e-4)
                XCTAssertLessThan(diffs.2, 1e-4)
                XCTAssertLessThan(diffs.3, 1e-4)
                // Without the input gradient (the network's first layer) the weight gradient still
                // comes from dY's shifted stack, which the backward then builds for it alone.
                let firstLayer = Conv2d(inputChannels: cin, outputChannels: cout, kernelSize: k, stride: 1,
                                        padding: padding, weightOffset: conv.weightOffset, biasOffset: conv.biasOffset,
                                        computesInputGradient: false)
                for i in h.gradients.indices { h.gradients[i] = 0 }
                let noDX = try h.with { b -> Tensor in
                    _ = try firstLayer.forward(x, training: true, buffers: b)
                    return try firstLayer.backward(dy, buffers: b)
                }
                XCTAssertEqual(noDX.count, 0)
                XCTAssertLessThan(maxAbsDifference(Array(h.gradients[conv.weightOffset..<(conv.weightOffset + refW.count)]),
                                                   refW), 1e-4)
                XCTAssertLessThan(maxAbsDifference(Array(h.gradients[conv.biasOffset!..<(conv.biasOffset! + cout)]),
                                                   refB), 1e-4)
            }
        }
    }
}
