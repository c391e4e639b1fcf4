/// The two back-ends of a convolution, with one call shape: the direct 3×3 kernels
/// (`DirectConvolution`) and the general lowering (`LoweredConvolution`). `Conv2d.convolution(_:)`
/// chooses; `Conv2d` and the fused `NormActConv` call it on whole batches or blocks of images.
enum ConvolutionKernel {
    case direct(DirectConvolution)
    case lowered(LoweredConvolution)

    /// y = conv(x) (+ bias) for `batch` images of height × width.
    func forward(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, weights: UnsafePointer<Float>,
                 bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .direct(let d):
            d.forward(x, batch: batch, height: height, width: width, weights: weights, bias: bias, into: y)
        case .lowered(let l):
            l.forward(x, batch: batch, height: height, width: width, weights: weights, bias: bias, into: y)
        }
    }

    /// dX (overwritten, skipped when nil), dW and the bias gradient (accumulated) in one pass.
    func backward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, height: Int,
                  width: Int, weights: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
                  weightGradient dw: UnsafeMutablePointer<Float>, biasGradient db: UnsafeMutablePointer<Float>?) {
        switch self {
        case .direct(let d):
            d.backward(input: x, outputGradient: dy, batch: batch, height: height, width: width, weights: weights,
                       inputGradient: dx, weightGradient: dw, biasGradient: db)
        case .lowered(let l):
            l.backward(input: x, outputGradient: dy, batch: batch, height: height, width: width, weights: weights,
                       inputGradient: dx, weightGradient: dw, biasGradient: db)
        }
    }

    /// The forward output goes around the caches where the back-end can do that (the direct
    /// kernels): for outputs written block by block and read only after the whole batch.
    var streamingOutput: ConvolutionKernel {
        guard case .direct(var d) = self else { return self }
        d.outputWrites = .streaming
        return .direct(d)
    }
}
