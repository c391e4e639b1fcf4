import XCTest
import Foundation
@testable import ResNetCore

final class LayerTests: XCTestCase {
    // MARK: Linear

    func testLinearForwardMatchesNaiveLoop() throws {
        let h = Harness()
        let layer = Linear("fc", inputFeatures: 5, outputFeatures: 3, initialization: .xavier, layout: h.layout)
        h.allocate()
        let x = randomTensor([4, 5], seed: 1)
        let y = try h.with { try layer.forward(x, training: false, buffers: $0) }
        var maxDiff: Float = 0
        for n in 0..<4 {
            for o in 0..<3 {
                var s = h.parameters[layer.biasOffset! + o]
                for i in 0..<5 { s += h.parameters[layer.weightOffset + o * 5 + i] * x[n, i] }
                maxDiff = max(maxDiff, abs(s - y[n, o]))
            }
        }
        print("Linear forward vs naive loop: max |diff| = \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-5)
    }

    func testLinearBackwardFiniteDifferences() throws {
        for batch in [1, 3] {
            let h = Harness()
            let layer = Linear("fc", inputFeatures: 4, outputFeatures: 3, initialization: .xavier, layout: h.layout)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([batch, 4], seed: 2),
                                      forward: { try layer.forward($0, training: true, buffers: $1) },
                                      backward: { try layer.backward($0, buffers: $1) })
            print("Linear batch \(batch) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    // MARK: Activations

    func testActivationsMatchReferenceAndFiniteDifferences() throws {
        let x = randomTensor([2, 3, 5], seed: 3, bound: 4)
        for activation in Activation.allCases {
            let h = Harness()
            let layer = ActivationLayer(activation)
            h.allocate()
            let y = try h.with { try layer.forward(x, training: false, buffers: $0) }
            var maxDiff = 0.0
            for i in 0..<x.count {
                let v = Double(x.data[i])
                let reference: Double
                switch activation {
                case .sigmoid: reference = 1 / (1 + Foundation.exp(-v))
                case .relu: reference = max(v, 0)
                case .tanh: reference = Foundation.tanh(v)
                }
                maxDiff = max(maxDiff, abs(reference - Double(y.data[i])))
            }
            print("\(activation) forward vs libm: max |diff| = \(maxDiff)")
            XCTAssertLessThan(maxDiff, 1e-6)
            // Keep ReLU inputs away from the kink so that central differences are valid.
            var input = x
            if activation == .relu { input.data = input.data.map { abs($0) < 0.05 ? $0 + 0.1 : $0 } }
            let r = try gradientCheck(h, input: input,
                                      forward: { try layer.forward($0, training: true, buffers: $1) },
                                      backward: { try layer.backward($0, buffers: $1) })
            print("\(activation) FD: max err \(r.maxInputError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    func testFastExpAccuracy() {
        var maxRelative: Float = 0
        var v: Float = -80
        while v < 80 {
            let reference = Float(Foundation.exp(Double(v)))
            maxRelative = max(maxRelative, abs(fastExp(v) - reference) / reference)
            v += 0.0137
        }
        print("fastExp max relative error on [-80, 80]: \(maxRelative)")
        XCTAssertLessThan(maxRelative, 5e-7)
    }

    // MARK: Conv2d

    struct ConvCase { var batch, cin, cout, height, width, kernel, stride, padding: Int; var bias: Bool }
    let convCases: [ConvCase] = [
        ConvCase(batch: 1, cin: 2, cout: 3, height: 5, width: 7, kernel: 3, stride: 1, padding: 1, bias: true),
        ConvCase(batch: 2, cin: 2, cout: 2, height: 7, width: 5, kernel: 3, stride: 2, padding: 1, bias: false),
        ConvCase(batch: 2, cin: 3, cout: 2, height: 6, width: 5, kernel: 3, stride: 1, padding: 0, bias: true),
        ConvCase(batch: 3, cin: 1, cout: 2, height: 5, width: 5, kernel: 3, stride: 2, padding: 0, bias: true),
        ConvCase(batch: 2, cin: 3, cout: 4, height: 3, width: 5, kernel: 1, stride: 1, padding: 0, bias: true),
        ConvCase(batch: 1, cin: 2, cout: 2, height: 4, width: 6, kernel: 2, stride: 2, padding: 1, bias: true),
    ]

    func makeConv(_ c: ConvCase, _ h: Harness) -> Conv2d {
        Conv2d("conv", inputChannels: c.cin, outputChannels: c.cout, kernelSize: c.kernel, stride: c.stride,
               padding: c.padding, bias: c.bias, initialization: .xavier, layout: h.layout)
    }

    func testConvForwardMatchesDirectConvolution() throws {
        for convolutions in ExecutionOptions.Convolutions.allCases { for c in convCases {
            let h = Harness()
            h.execution.convolutions = convolutions
            let conv = makeConv(c, h)
            h.allocate()
            let x = randomTensor([c.batch, c.cin, c.height, c.width], seed: 4)
            let y = try h.with { try conv.forward(x, training: false, buffers: $0) }
            let (ho, wo) = conv.outputSize(height: c.height, width: c.width)
            XCTAssertEqual(y.shape, [c.batch, c.cout, ho, wo])
            var maxDiff: Float = 0
            for n in 0..<c.batch {
                for o in 0..<c.cout {
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            var s: Float = c.bias ? h.parameters[conv.biasOffset! + o] : 0
                            for i in 0..<c.cin {
                                for ky in 0..<c.kernel {
                                    for kx in 0..<c.kernel {
                                        let iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx
                                        guard iy >= 0, iy < c.height, ix >= 0, ix < c.width else { continue }
                                        let w = h.parameters[conv.weightOffset + ((o * c.cin + i) * c.kernel + ky) * c.kernel + kx]
                                        s += w * x[n, i, iy, ix]
                                    }
                                }
                            }
                            maxDiff = max(maxDiff, abs(s - y[n, o, oy, ox]))
                        }
                    }
                }
            }
            print("Conv2d \(c) \(convolutions) forward vs naive loops: max |diff| = \(maxDiff)")
            XCTAssertLessThan(maxDiff, 1e-5)
        } }
    }

    func testConvBackwardFiniteDifferences() throws {
        for convolutions in ExecutionOptions.Convolutions.allCases { for c in convCases {
            let h = Harness()
            h.execution.convolutions = convolutions
            let conv = makeConv(c, h)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor([c.batch, c.cin, c.height, c.width], seed: 5),
                                      forward: { try conv.forward($0, training: true, buffers: $1) },
                                      backward: { try conv.backward($0, buffers: $1) })
            print("Conv2d \(c) \(convolutions) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        } }
    }

    // MARK: BatchNorm

    func testBatchNormTrainingNormalizesAndUpdatesRunningStatistics() throws {
        let h = Harness()
        let bn = BatchNorm("bn", channels: 3, layout: h.layout)
        h.allocate()
        for i in 0..<3 { h.parameters[bn.weightOffset + i] = 1; h.parameters[bn.biasOffset + i] = 0 }
        var x = randomTensor([4, 3, 3, 5], seed: 6, bound: 2)
        for i in 0..<x.count { x.data[i] = x.data[i] * 3 + 5 }  // mean ≈ 5, far from 0
        let y = try h.with { try bn.forward(x, training: true, buffers: $0) }
        let m = 4 * 15
        var worst = 0.0
        for c in 0..<3 {
            var values: [Double] = [], inputs: [Double] = []
            for n in 0..<4 { for i in 0..<15 {
                values.append(Double(y.data[(n * 3 + c) * 15 + i]))
                inputs.append(Double(x.data[(n * 3 + c) * 15 + i]))
            } }
            let mean = values.reduce(0, +) / Double(m)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m)
            worst = max(worst, abs(mean), abs(variance - 1) - 0)
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            // Variance is 1 − ε/(σ²+ε) because of eps.
            XCTAssertEqual(variance, 1, accuracy: 1e-4)
            let inMean = inputs.reduce(0, +) / Double(m)
            let inVar = inputs.map { ($0 - inMean) * ($0 - inMean) }.reduce(0, +) / Double(m - 1)
            XCTAssertEqual(Double(h.state[bn.runningMeanOffset + c]), 0.1 * inMean, accuracy: 1e-4)
            XCTAssertEqual(Double(h.state[bn.runningVarianceOffset + c]), 0.9 + 0.1 * inVar, accuracy: 1e-4)
        }
        print("BatchNorm training: worst |mean| / |var − 1| = \(worst)")
    }

    func testBatchNormInferenceUsesRunningStatistics() throws {
        let h = Harness()
        let bn = BatchNorm("bn", channels: 2, layout: h.layout)
        h.allocate()
        h.state[bn.runningMeanOffset] = 0.5; h.state[bn.runningMeanOffset + 1] = -1
        h.state[bn.runningVarianceOffset] = 4; h.state[bn.runningVarianceOffset + 1] = 0.25
        let x = randomTensor([3, 2], seed: 8)
        let y = try h.with { try bn.forward(x, training: false, buffers: $0) }
        var maxDiff: Float = 0
        for n in 0..<3 { for c in 0..<2 {
            let mean = h.state[bn.runningMeanOffset + c], variance = h.state[bn.runningVarianceOffset + c]
            let expected = h.parameters[bn.weightOffset + c] * (x[n, c] - mean) / (variance + 1e-5).squareRoot()
                + h.parameters[bn.biasOffset + c]
            maxDiff = max(maxDiff, abs(expected - y[n, c]))
        } }
        print("BatchNorm inference vs running-stat formula: max |diff| = \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-6)
        XCTAssertEqual(h.state[bn.runningMeanOffset], 0.5, "inference must not update running stats")
    }

    func testBatchNormBackwardFiniteDifferences() throws {
        for shape in [[1, 2, 3, 3], [3, 2, 5, 3], [6, 3]] {
            let h = Harness()
            let bn = BatchNorm("bn", channels: shape[1], layout: h.layout)
            h.allocate()
            let r = try gradientCheck(h, input: randomTensor(shape, seed: 9),
                                      forward: { try bn.forward($0, training: true, buffers: $1) },
                                      backward: { try bn.backward($0, buffers: $1) })
            print("BatchNorm \(shape) FD: max err input \(r.maxInputError), params \(r.maxParameterError)")
            XCTAssertEqual(r.failures, [])
        }
    }

    /// A reducer that pretends a second rank holds an identical shard: sums × 2.
    final class DoublingReducer: BatchNormReducer {
        var calls = 0
        func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
            calls += 1
            for i in values.indices { values[i] *= 2 }
        }
    }

    func testSynchronisedBatchNormMatchesConcatenatedBatch() throws {
        let x = randomTensor([2, 2, 3, 3], seed: 10)
        let dy = randomTensor([2, 2, 3, 3], seed: 11)
        // "Two ranks" each holding x, through the reducer …
        let h1 = Harness()
        let bn1 = BatchNorm("bn", channels: 2, layout: h1.layout)
        h1.allocate()
        let reducer = DoublingReducer()
        h1.reducer = reducer
        let y1 = try h1.with { try bn1.forward(x, training: true, buffers: $0) }
        let dx1 = try h1.with { try bn1.backward(dy, buffers: $0) }
        XCTAssertEqual(reducer.calls, 2, "one reduction in forward, one in backward")
        // … against one process holding [x; x].
        let h2 = Harness()
        let bn2 = BatchNorm("bn", channels: 2, layout: h2.layout)
        h2.allocate()
        let xx = Tensor(shape: [4, 2, 3, 3], data: x.data + x.data)
        let yy = try h2.with { try bn2.forward(xx, training: true, buffers: $0) }
        let dxx = try h2.with { try bn2.backward(Tensor(shape: [4, 2, 3, 3], data: dy.data + dy.data), buffers: $0) }
        let dyDiff = maxAbsDifference(y1.data, Array(yy.data[0..<x.count]))
        let dxDiff = maxAbsDifference(dx1.data, Array(dxx.data[0..<x.count]))
        let gradDiff = maxAbsDifference(h1.gradients.map { 2 * $0 }, h2.gradients)
        print("sync BN vs concatenated batch: y \(dyDiff), dx \(dxDiff), 2·dγβ \(gradDiff)")
        XCTAssertLessThan(dyDiff, 1e-5)
        XCTAssertLessThan(dxDiff, 1e-5)
        XCTAssertLessThan(gradDiff, 1e-4)
    }

    // MARK: Pooling, flatten

    func testGlobalAveragePoolAndFlatten() throws {
        let h = Harness()
        h.allocate()
        let pool = GlobalAveragePool(), flatten = Flatten()
        let x = randomTensor([2, 3, 3, 5], seed: 12)
        let y = try h.with { try pool.forward(x, training: true, buffers: $0) }
        var maxDiff: Float = 0
        for i in 0..<6 { maxDiff = max(maxDiff, abs(y.data[i] - x.data[(i * 15)..<(i * 15 + 15)].reduce(0, +) / 15)) }
        XCTAssertLessThan(maxDiff, 1e-6)
        let r = try gradientCheck(h, input: x, forward: { try pool.forward($0, training: true, buffers: $1) },
                                  backward: { try pool.backward($0, buffers: $1) })
        print("pool forward max |diff| \(maxDiff), FD \(r.maxInputError)")
        XCTAssertEqual(r.failures, [])
        let f = try h.with { try flatten.forward(x, training: true, buffers: $0) }
        XCTAssertEqual(f.shape, [2, 45])
        XCTAssertEqual(try h.with { try flatten.backward(f, buffers: $0) }.shape, x.shape)
    }
}
