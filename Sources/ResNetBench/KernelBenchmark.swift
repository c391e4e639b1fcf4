import Foundation
import ResNetCore

/// One benchmark measurement: work done, time, rate and its ratio to the sgemm reference.
public struct BenchmarkRow: Codable, Equatable, Sendable {
    public var name: String
    public var flops: Double
    public var seconds: Double
    public var gflops: Double { flops / seconds / 1e9 }
    /// gflops divided by the sgemm reference measured in the same run.
    public var ratioToReference: Double
}

/// The kernel benchmark: sgemm at a large square size (the reference), Conv2d
/// forward+backward at the Fashion-MNIST shapes and Linear 32→32, in one run.
/// Thread count is OpenBLAS's (set `OPENBLAS_NUM_THREADS=1` for the one-thread target).
public enum KernelBenchmark {
    /// Best-of-`repetitions` wall time of `body` (after one warm-up call).
    static func time(_ repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    /// Seconds of one n×n×n sgemm on random operands, as `timing` measures a body (best of
    /// several runs): the reference every ratio divides by.
    static func sgemmSeconds(size n: Int, timing: (() -> Void) -> Double) -> Double {
        var rng = SplitMix64(seed: 1)
        let a = (0..<(n * n)).map { _ in rng.nextUniform(bound: 1) }
        let b = (0..<(n * n)).map { _ in rng.nextUniform(bound: 1) }
        var c = [Float](repeating: 0, count: n * n)
        return timing {
            c.withUnsafeMutableBufferPointer { cp in
                Kernels.sgemm(transposeA: false, transposeB: false, m: n, n: n, k: n, alpha: 1,
                              a: a, b: b, beta: 0, c: cp.baseAddress!)
            }
        }
    }

    public static func run(batch: Int = 256, gemmSize: Int = 1024, repetitions: Int = 5) throws -> [BenchmarkRow] {
        var rows: [BenchmarkRow] = []
        // Reference: square sgemm.
        let n = gemmSize
        let gemmSeconds = sgemmSeconds(size: n) { time(repetitions, $0) }
        let reference = 2 * Double(n * n * n) / gemmSeconds
        rows.append(BenchmarkRow(name: "sgemm \(n)x\(n)x\(n) (reference)", flops: 2 * Double(n * n * n),
                                 seconds: gemmSeconds, ratioToReference: 1))

        func add(_ name: String, _ flops: Double, _ seconds: Double) {
            rows.append(BenchmarkRow(name: name, flops: flops, seconds: seconds,
                                     ratioToReference: flops / seconds / reference))
        }
        for (channels, size) in [(16, 28), (32, 14)] {
            let (fwd, bwd) = try convTimes(channels: channels, size: size, batch: batch, repetitions: repetitions)
            let flops = 2 * Double(channels * channels * 9 * size * size * batch)
            add("conv \(channels)->\(channels) \(size)x\(size) b\(batch) fwd", flops, fwd)
            add("conv \(channels)->\(channels) \(size)x\(size) b\(batch) bwd (dW+dX)", 2 * flops, bwd)
            add("conv \(channels)->\(channels) \(size)x\(size) b\(batch) fwd+bwd", 3 * flops, fwd + bwd)
        }
        let (fwd, bwd) = try linearTimes(features: 32, batch: batch, repetitions: max(repetitions, 20))
        let flops = 2 * Double(32 * 32 * batch)
        add("linear 32->32 b\(batch) fwd+bwd", 3 * flops, fwd + bwd)
        return rows
    }

    static func convTimes(channels: Int, size: Int, batch: Int, repetitions: Int) throws -> (Double, Double) {
        let layout = LayoutBuilder()
        let conv = Conv2d("conv", inputChannels: channels, outputChannels: channels, kernelSize: 3, stride: 1,
                          padding: 1, bias: true, initialization: .xavier, layout: layout)
        return try layerTimes(conv, layout: layout, input: [batch, channels, size, size], repetitions: repetitions)
    }

    static func linearTimes(features: Int, batch: Int, repetitions: Int) throws -> (Double, Double) {
        let layout = LayoutBuilder()
        let linear = Linear("fc", inputFeatures: features, outputFeatures: features, initialization: .xavier, layout: layout)
        return try layerTimes(linear, layout: layout, input: [batch, features], repetitions: repetitions)
    }

    static func layerTimes(_ layer: Layer, layout: LayoutBuilder, input shape: [Int],
                           repetitions: Int) throws -> (Double, Double) {
        var rng = SplitMix64(seed: 2)
        var parameters = (0..<layout.parameterCount).map { _ in rng.nextUniform(bound: 0.1) }
        var gradients = [Float](repeating: 0, count: layout.parameterCount)
        var state = [Float](repeating: 0, count: max(layout.stateCount, 1))
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextUniform(bound: 1) })
        return try parameters.withUnsafeMutableBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                try state.withUnsafeMutableBufferPointer { s in
                    let buffers = LayerBuffers(parameters: p.baseAddress!, gradients: g.baseAddress!, state: s.baseAddress!)
                    var y = try layer.forward(x, training: true, buffers: buffers)
                    let fwd = try time(repetitions) { y = try layer.forward(x, training: true, buffers: buffers) }
                    let bwd = try time(repetitions) {
                        _ = try layer.forward(x, training: true, buffers: buffers)
                        _ = try layer.backward(y, buffers: buffers)
                    } - fwd
                    return (fwd, max(bwd, 1e-9))
                }
            }
        }
    }
}
