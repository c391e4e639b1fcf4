import Foundation
import ResNetCore

/// `resnet-dist bench conv`: the direct 3×3 convolutions (`DirectConvolution`) on every
/// instruction-set path this CPU runs, beside `Conv2d` on its general fallback (im2col and
/// OpenBLAS, `LoweredConvolution`, through the `Layer` API) and the one-thread sgemm 1024³
/// reference, at the Fashion-MNIST network's shapes.
///
/// The sgemm reference runs on whichever OpenBLAS core the process loaded (`OPENBLAS_CORETYPE`
/// or OpenBLAS's own detection); the direct kernels ignore it. Compare each path with the
/// sgemm of the same instruction set: run once as is and once with the variable unset.
public enum ConvolutionBenchmark {
    public struct Row: Sendable {
        public var name: String
        /// Seconds of the forward pass and of the input and weight (+ bias) gradient computed
        /// separately (nil for `Conv2d`, whose backward is one call).
        public var forward: Double, inputGradient: Double?, weightGradient: Double?
        /// Seconds of both gradients in one call (`DirectConvolution.backward`, `Conv2d.backward`).
        public var backward: Double
        public var forwardFlops: Double
        /// Passes of forward work in the backward: 2 (dX and dW), 1 without an input gradient.
        public var backwardPasses: Double
        /// Forward + backward as a layer runs them (the one-call backward).
        public var total: Double { forward + backward }
        public var gflops: Double { (1 + backwardPasses) * forwardFlops / total / 1e9 }
    }

    /// The shapes measured: (in, out, plane size, stride). The first two carry almost all of the
    /// Fashion-MNIST network's FLOPs (seven and six convolutions per deep-model step); the
    /// stride-2 group transition is a few per cent, the 1-channel input layer less than one.
    public static let shapes = [(16, 16, 28, 1), (32, 32, 14, 1), (16, 32, 28, 2), (1, 16, 28, 1)]

    /// CPU seconds of the calling thread: every row (sgemm included) runs on this one thread,
    /// and on a shared machine CPU time leaves out the time other processes hold the core.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Best-of-`repetitions` CPU time (after one warm-up call).
    static func time(_ repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<max(1, repetitions) {
            let start = cpuSeconds()
            try body()
            best = min(best, cpuSeconds() - start)
        }
        return best
    }

    /// sgemm 1024³ GFLOP/s at one OpenBLAS thread.
    public static func sgemmReference(size n: Int = 1024, repetitions: Int = 5) -> Double {
        let saved = Kernels.threadCount
        defer { Kernels.useThreads(saved) }
        Kernels.useThreads(1)
        let seconds = KernelBenchmark.sgemmSeconds(size: n) { time(repetitions, $0) }
        return 2 * Double(n * n * n) / seconds / 1e9
    }

    /// Every supported path and `Conv2d` at one shape.
    public static func measure(inputChannels cin: Int, outputChannels cout: Int, size: Int, stride: Int,
                               batch: Int, repetitions: Int = 5) throws -> [Row] {
        let saved = Kernels.threadCount
        defer { Kernels.useThreads(saved) }
        Kernels.useThreads(1)
        var rng = SplitMix64(seed: 2)
        let weightCount = cout * cin * 9
        // Conv2d's parameter layout: weights, then bias (stride 1 only, as in the network).
        let bias = stride == 1
        var parameters = (0..<(weightCount + cout)).map { _ in rng.nextUniform(bound: 0.1) }
        var gradients = [Float](repeating: 0, count: parameters.count)
        let x = (0..<(batch * cin * size * size)).map { _ in rng.nextUniform(bound: 1) }
        let probe = DirectConvolution(inputChannels: cin, outputChannels: cout, stride: stride, path: .portable)
        let (ho, wo) = probe.outputSize(height: size, width: size)
        let dy = (0..<(batch * cout * ho * wo)).map { _ in rng.nextUniform(bound: 1) }
        let flops = probe.forwardFlops(batch: batch, height: size, width: size)
        // The network's one 1-channel convolution is its input layer, which needs no input gradient.
        let needsInputGradient = cin > 1, passes: Double = needsInputGradient ? 2 : 1
        var rows: [Row] = []
        var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
        for path in DirectConvolution.supportedPaths {
            let conv = DirectConvolution(inputChannels: cin, outputChannels: cout, stride: stride, path: path)
            parameters.withUnsafeBufferPointer { p in
                gradients.withUnsafeMutableBufferPointer { g in
                    let w = p.baseAddress!, b = bias ? p.baseAddress! + weightCount : nil
                    let dw = g.baseAddress!, db = bias ? g.baseAddress! + weightCount : nil
                    let f = time(repetitions) {
                        conv.forward(x, batch: batch, height: size, width: size, weights: w, bias: b, into: &y)
                    }
                    let d = needsInputGradient ? time(repetitions) {
                        conv.inputGradient(dy, batch: batch, height: size, width: size, weights: w, into: &dx)
                    } : nil
                    let wg = time(repetitions) {
                        conv.weightGradient(input: x, outputGradient: dy, batch: batch, height: size, width: size,
                                            weightGradient: dw, biasGradient: db)
                    }
                    let both = dx.withUnsafeMutableBufferPointer { dxp in
                        time(repetitions) {
                            conv.backward(input: x, outputGradient: dy, batch: batch, height: size, width: size,
                                          weights: w, inputGradient: needsInputGradient ? dxp.baseAddress! : nil,
                                          weightGradient: dw, biasGradient: db)
                        }
                    }
                    rows.append(Row(name: path.rawValue, forward: f, inputGradient: d, weightGradient: wg,
                                    backward: both, forwardFlops: flops, backwardPasses: passes))
                }
            }
        }
        // The best path called on blocks of a few images, as a layer working block by block would.
        let block = 4, inImage = cin * size * size, outImage = cout * ho * wo
        // Their outputs make up a whole batch read later: streamed like one call's on the batch.
        let best = DirectConvolution(inputChannels: cin, outputChannels: cout, stride: stride, outputWrites: .streaming)
        x.withUnsafeBufferPointer { xp in
          dy.withUnsafeBufferPointer { dyp in
            y.withUnsafeMutableBufferPointer { yp in
              dx.withUnsafeMutableBufferPointer { dxp in
                parameters.withUnsafeBufferPointer { p in
                  gradients.withUnsafeMutableBufferPointer { g in
                    let w = p.baseAddress!, b = bias ? p.baseAddress! + weightCount : nil
                    let dw = g.baseAddress!, db = bias ? g.baseAddress! + weightCount : nil
                    let starts = Swift.stride(from: 0, to: batch, by: block)
                    let f = time(repetitions) {
                        for s in starts {
                            best.forward(xp.baseAddress! + s * inImage, batch: min(block, batch - s), height: size,
                                         width: size, weights: w, bias: b, into: yp.baseAddress! + s * outImage)
                        }
                    }
                    let both = time(repetitions) {
                        for s in starts {
                            best.backward(input: xp.baseAddress! + s * inImage,
                                          outputGradient: dyp.baseAddress! + s * outImage,
                                          batch: min(block, batch - s), height: size, width: size, weights: w,
                                          inputGradient: needsInputGradient ? dxp.baseAddress! + s * inImage : nil,
                                          weightGradient: dw,
                                          biasGradient: db)
                        }
                    }
                    rows.append(Row(name: "\(best.path.rawValue), \(block)-image calls", forward: f, inputGradient: nil,
                                    weightGradient: nil, backward: both, forwardFlops: flops, backwardPasses: passes))
                  }
                }
              }
            }
          }
        }
        // Conv2d through the Layer API (one backward call: dX, dW and the bias gradient).
        let layer = Conv2d(inputChannels: cin, outputChannels: cout, kernelSize: 3, stride: stride, padding: 1,
                           weightOffset: 0, biasOffset: bias ? weightCount : nil,
                           computesInputGradient: needsInputGradient)
        let input = Tensor(shape: [batch, cin, size, size], data: x)
        let gradient = Tensor(shape: [batch, cout, ho, wo], data: dy)
        var state: [Float] = [0]
        let (f, b) = try parameters.withUnsafeMutableBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                try state.withUnsafeMutableBufferPointer { s in
                    // The general fallback: what a CPU without AVX2 runs.
                    let buffers = LayerBuffers(parameters: p.baseAddress!, gradients: g.baseAddress!,
                                               state: s.baseAddress!, execution: ExecutionOptions(convolutions: .lowered))
                    var best = (Double.infinity, Double.infinity)
                    for _ in 0..<(max(1, repetitions) + 1) {
                        let t0 = cpuSeconds()
                        _ = try layer.forward(input, training: true, buffers: buffers)
                        let t1 = cpuSeconds()
                        _ = try layer.backward(gradient, buffers: buffers)
                        let t2 = cpuSeconds()
                        best = (min(best.0, t1 - t0), min(best.1, t2 - t1))
                    }
                    return best
                }
            }
        }
        rows.append(Row(name: "Conv2d (OpenBLAS)", forward: f, inputGradient: nil, weightGradient: nil,
                        backward: b, forwardFlops: flops, backwardPasses: passes))
        return rows
    }

    /// The section's text: the reference, then per shape one line per path and Conv2d with
    /// GFLOP/s of each pass, forward+backward, its share of sgemm and its speed-up over Conv2d.
    /// A backward does two passes' work (dX and dW), counted as 2 × forward FLOPs. The sgemm
    /// reference is the better of a measurement before and one after the convolutions.
    public static func report(batch: Int, repetitions: Int = 5) throws -> String {
        let before = sgemmReference()
        let measured = try shapes.map { shape in
            (shape, try measure(inputChannels: shape.0, outputChannels: shape.1, size: shape.2, stride: shape.3,
                                batch: batch, repetitions: repetitions))
        }
        let reference = max(before, sgemmReference())
        let coreType = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "=\($0)" } ?? " unset"
        var lines = [
            "## Direct convolutions (one thread, batch \(batch), best-of-\(repetitions) CPU time)",
            "",
            "best path: \(DirectConvolution.bestPath.rawValue); OpenBLAS core: \(BLASCore.current) "
                + "(OPENBLAS_CORETYPE\(coreType))",
            String(format: "sgemm 1024x1024x1024 (reference): %.1f GFLOP/s", reference),
            "",
            "fwd, dX, dW: each pass alone; bwd: dX + dW in one call; fwd+bwd = fwd then that bwd. "
                + "The 1-channel input layer computes no dX (as in the network).",
            "",
            "| shape | kernels | fwd | dX | dW | bwd | fwd+bwd GFLOP/s | % of sgemm | × Conv2d |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for ((cin, cout, size, stride), rows) in measured {
            let baseline = rows.last!.gflops
            for row in rows {
                let rate = { (s: Double?, passes: Double) in
                    s.map { String(format: "%.1f", passes * row.forwardFlops / $0 / 1e9) } ?? "—"
                }
                lines.append("| \(cin)→\(cout) \(size)×\(size) s\(stride) | \(row.name) | \(rate(row.forward, 1)) | "
                    + "\(rate(row.inputGradient, 1)) | \(rate(row.weightGradient, 1)) | "
                    + "\(rate(row.backward, row.backwardPasses)) | "
                    + String(format: "%.1f | %.0f %% | %.2f |", row.gflops, 100 * row.gflops / reference,
                             row.gflops / baseline))
            }
        }
        return lines.joined(separator: "\n")
    }
}
