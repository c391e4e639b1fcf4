/// 2-d convolution (cross-correlation), kernel k×k, stride, zero padding, optional bias;
/// weight stored [out, in, k, k] (PyTorch layout).
///
/// Runs on one of two back-ends (`ConvolutionKernel`): the direct 3×3 kernels of `CKernels` for
/// every 3×3 convolution with padding 1 and stride 1 or 2 (all the models have), and the general
/// im2col + OpenBLAS lowering (`LoweredConvolution`) for any other shape or when the execution
/// options ask for it. Forward saves only the input.
public final class Conv2d: Layer {
    public let inputChannels: Int, outputChannels: Int
    public let kernelSize: Int, stride: Int, padding: Int
    public let weightOffset: Int, biasOffset: Int?
    public let computesInputGradient: Bool
    var savedInput: Tensor?

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                weightOffset: Int, biasOffset: Int?, computesInputGradient: Bool = true) {
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        self.computesInputGradient = computesInputGradient
    }

    /// Registers `path.weight (and `name.bias`) in the layout.
    package convenience init(_ path: LayerPath, inputChannels: Int, outputChannels: Int, kernelSize: Int,
                     stride: Int, padding: Int, bias: Bool, initialization: WeightBound,
                     computesInputGradient: Bool = true, layout: LayoutBuilder) {
        let fanIn = Float(inputChannels * kernelSize * kernelSize)
        let fanOut = Float(outputChannels * kernelSize * kernelSize)
        let bound = initialization.bound(fanIn: fanIn, fanOut: fanOut)
        let w = layout.addParameter(ParameterName(path, .weight), shape: [outputChannels, inputChannels, kernelSize, kernelSize],
                                    initializer: .uniform(bound: bound))
        let b = bias ? layout.addParameter(ParameterName(path, .bias), shape: [outputChannels],
                                           initializer: .uniform(bound: 1 / fanIn.squareRoot())) : nil
        self.init(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
                  stride: stride, padding: padding, weightOffset: w, biasOffset: b,
                  computesInputGradient: computesInputGradient)
    }

    public func freshCopy() -> Layer {
        Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
               stride: stride, padding: padding, weightOffset: weightOffset, biasOffset: biasOffset,
               computesInputGradient: computesInputGradient)
    }

    public func outputSize(height: Int, width: Int) -> (Int, Int) {
        ((height + 2 * padding - kernelSize) / stride + 1, (width + 2 * padding - kernelSize) / stride + 1)
    }

    /// Forward FLOPs per sample for an input plane of the given size.
    public func forwardFlopsPerSample(height: Int, width: Int) -> Double {
        let (ho, wo) = outputSize(height: height, width: width)
        return 2 * Double(outputChannels * inputChannels * kernelSize * kernelSize * ho * wo)
    }

    struct Geometry {
        let n: Int, h: Int, w: Int, ho: Int, wo: Int
    }

    private func geometry(_ input: Tensor) throws -> Geometry {
        guard input.rank == 4, input.shape[1] == inputChannels else {
            throw ResNetCoreError.shapeMismatch("Conv2d(\(inputChannels)→\(outputChannels)) got \(input.shape)")
        }
        let (ho, wo) = outputSize(height: input.shape[2], width: input.shape[3])
        guard ho > 0, wo > 0 else { throw ResNetCoreError.shapeMismatch("Conv2d output empty for \(input.shape)") }
        return Geometry(n: input.shape[0], h: input.shape[2], w: input.shape[3], ho: ho, wo: wo)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input)
        var output = Tensor(uninitializedShape: [g.n, outputChannels, g.ho, g.wo])
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in convolve(x.baseAddress!, batch: g.n, g, buffers, into: y.baseAddress!) }
        }
        savedInput = training ? input : nil
        return output
    }

    /// y = conv(x) (+ bias) for `batch` images of `g`'s input size.
    private func convolve(_ x: UnsafePointer<Float>, batch: Int, _ g: Geometry, _ buffers: LayerBuffers,
                          into y: UnsafeMutablePointer<Float>) {
        convolution(buffers.execution).forward(x, batch: batch, height: g.h, width: g.w,
                                               weights: buffers.parameters + weightOffset,
                                               bias: biasOffset.map { UnsafePointer(buffers.parameters + $0) }, into: y)
    }

    /// The forward output for `count` images from `first` again, from the input forward kept
    /// (the same kernel call on those images: the same bits), into `y`. For a layer after it
    /// that recomputes its input instead of keeping it (`NormActConv.recomputesInput`).
    func recomputeOutput(first: Int, count: Int, buffers: LayerBuffers, into y: UnsafeMutablePointer<Float>) throws {
        guard let input = savedInput else { throw ResNetCoreError.backwardWithoutForward("Conv2d (recomputed output)") }
        let g = try geometry(input)
        precondition(first >= 0 && count >= 0 && first + count <= g.n, "images out of the kept batch")
        input.data.withUnsafeBufferPointer { x in
            convolve(x.baseAddress! + first * inputChannels * g.h * g.w, batch: count, g, buffers, into: y)
        }
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let input = savedInput else { throw ResNetCoreError.backwardWithoutForward("Conv2d") }
        let g = try geometry(input)
        guard outputGradient.shape == [g.n, outputChannels, g.ho, g.wo] else {
            throw ResNetCoreError.shapeMismatch("Conv2d gradient \(outputGradient.shape)")
        }
        defer { savedInput = nil }
        var inputGradient = Tensor(uninitializedShape: computesInputGradient ? input.shape : [0])
        input.data.withUnsafeBufferPointer { x in
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    convolution(buffers.execution).backward(
                        input: x.baseAddress!, outputGradient: dy.baseAddress!, batch: g.n, height: g.h, width: g.w,
                        weights: buffers.parameters + weightOffset, inputGradient: computesInputGradient ? dx.baseAddress : nil,
                        weightGradient: buffers.gradients + weightOffset, biasGradient: biasOffset.map { buffers.gradients + $0 })
                }
            }
        }
        return inputGradient
    }

    /// The direct kernels for a 3×3 convolution with padding 1 and stride 1 or 2 (unless the
    /// execution options ask for lowering), else the general lowering.
    func convolution(_ execution: ExecutionOptions) -> ConvolutionKernel {
        if execution.convolutions == .direct, kernelSize == 3, padding == 1, stride == 1 || stride == 2 {
            return .direct(DirectConvolution(inputChannels: inputChannels, outputChannels: outputChannels, stride: stride))
        }
        return .lowered(LoweredConvolution(inputChannels: inputChannels, outputChannels: outputChannels,
                                           kernel: kernelSize, stride: stride, padding: padding))
    }
}
