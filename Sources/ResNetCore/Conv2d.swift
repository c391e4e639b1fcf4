/// 2-d convolution (cross-correlation), kernel k×k, stride, zero padding, optional bias;
/// weight stored [out, in, k, k] (PyTorch layout).
///
/// Lowered per image with im2col: a whole-batch lowering makes skinny GEMMs that stream far
/// more memory than they compute, while one image's column buffer (e.g. 144×784 floats) stays
/// in cache and runs near the sgemm reference. Forward saves only the input; backward
/// recomputes each image's columns instead of storing (C·k²)×(Ho·Wo)×N floats.
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

    /// A 1×1, stride-1, unpadded convolution needs no lowering: the image is its own column matrix.
    var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

    struct Geometry {
        let n: Int, h: Int, w: Int, ho: Int, wo: Int, padding: Int
        var plane: Int { ho * wo }
        var hp: Int { h + 2 * padding }
        var wp: Int { w + 2 * padding }
    }

    private func geometry(_ input: Tensor) throws -> Geometry {
        guard input.rank == 4, input.shape[1] == inputChannels else {
            throw ResNetCoreError.shapeMismatch("Conv2d(\(inputChannels)→\(outputChannels)) got \(input.shape)")
        }
        let (ho, wo) = outputSize(height: input.shape[2], width: input.shape[3])
        guard ho > 0, wo > 0 else { throw ResNetCoreError.shapeMismatch("Conv2d output empty for \(input.shape)") }
        return Geometry(n: input.shape[0], h: input.shape[2], w: input.shape[3], ho: ho, wo: wo, padding: padding)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input)
        var output = Tensor(uninitializedShape: [g.n, outputChannels, g.ho, g.wo])
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                if let direct = directConvolution(g, buffers.execution) {
                    direct.forward(x.baseAddress!, batch: g.n, height: g.h, width: g.w,
                                   weights: buffers.parameters + weightOffset,
                                   bias: biasOffset.map { UnsafePointer(buffers.parameters + $0) }, into: y.baseAddress!)
                } else if usesShiftedLowering(g) {
                    forwardShifted(x.baseAddress!, g, into: y.baseAddress!, buffers: buffers)
                } else {
                    forwardLowered(x.baseAddress!, g, into: y.baseAddress!, buffers: buffers)
                }
            }
        }
        savedInput = training ? input : nil
        return output
    }

    public func backward(_ outputGradient: Tensor, buffers: LayerBuffers) throws -> Tensor {
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
                    let dx = computesInputGradient ? dx.baseAddress : nil
                    if let direct = directConvolution(g, buffers.execution) {
                        direct.backward(input: x.baseAddress!, outputGradient: dy.baseAddress!, batch: g.n, height: g.h,
                                        width: g.w, weights: buffers.parameters + weightOffset, inputGradient: dx,
                                        weightGradient: buffers.gradients + weightOffset,
                                        biasGradient: biasOffset.map { buffers.gradients + $0 })
                        return
                    }
                    if usesShiftedLowering(g) {
                        backwardShifted(x.baseAddress!, dy.baseAddress!, g, inputGradient: dx, buffers: buffers)
                        return
                    }
                    if let biasOffset {
                        accumulateBiasGradient(dy.baseAddress!, g, into: buffers.gradients + biasOffset)
                    }
                    if isPointwise {
                        backwardPointwise(x.baseAddress!, dy.baseAddress!, g, inputGradient: dx, buffers: buffers)
                    } else {
                        backwardLowered(x.baseAddress!, dy.baseAddress!, g, inputGradient: dx, buffers: buffers)
                    }
                }
            }
        }
        return inputGradient
    }

    /// The direct kernels take every 3×3 convolution with padding 1 and stride 1 or 2 (unless the
    /// execution options ask for lowering).
    func directConvolution(_ g: Geometry, _ execution: ExecutionOptions) -> DirectConvolution? {
        guard execution.convolutions == .direct, kernelSize == 3, padding == 1, stride == 1 || stride == 2 else { return nil }
        return DirectConvolution(inputChannels: inputChannels, outputChannels: outputChannels, stride: stride)
    }

    /// Stride 1 with "same" padding: lowered by shifted copies instead of im2col (`SameConvolution`).
    /// On narrow planes the discarded columns (Wp − W of every Wp) cost more than im2col saves.
    func usesShiftedLowering(_ g: Geometry) -> Bool {
        !isPointwise && stride == 1 && 2 * padding == kernelSize - 1 && g.w >= 12
    }

    // MARK: im2col lowering (any stride and padding) and 1×1

    private var loweredRows: Int { inputChannels * kernelSize * kernelSize }

    /// Lowers one image into `columns` (row pitch `rowStride`): pad into `padded`, whose zero
    /// border persists across images, then im2col without bounds tests.
    private func lower(_ image: UnsafePointer<Float>, _ g: Geometry, padded: UnsafeMutablePointer<Float>,
                       into columns: UnsafeMutablePointer<Float>, rowStride: Int) {
        Kernels.padImage(image, channels: inputChannels, height: g.h, width: g.w, padding: padding, into: padded)
        Kernels.im2col(padded: padded, channels: inputChannels, paddedHeight: g.hp, paddedWidth: g.wp,
                       kernel: kernelSize, stride: stride, outHeight: g.ho, outWidth: g.wo, columns: columns,
                       rowStride: rowStride)
    }

    /// Y = W · columns (+ bias) per image.
    private func forwardLowered(_ x: UnsafePointer<Float>, _ g: Geometry, into y: UnsafeMutablePointer<Float>,
                                buffers: LayerBuffers) {
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        let columns = ScratchBuffer(isPointwise ? 0 : loweredRows * g.plane)
        let padded = ScratchBuffer(isPointwise ? 0 : inputChannels * g.hp * g.wp)
        let weights = buffers.parameters + weightOffset
        for s in 0..<g.n {
            let out = y + s * outImage
            var b = x + s * inImage
            if !isPointwise {
                lower(b, g, padded: padded.pointer, into: columns.pointer, rowStride: g.plane)
                b = UnsafePointer(columns.pointer)
            }
            if let biasOffset {
                let bias = buffers.parameters + biasOffset
                for oc in 0..<outputChannels { (out + oc * g.plane).update(repeating: bias[oc], count: g.plane) }
            }
            Kernels.sgemm(transposeA: false, transposeB: false, m: outputChannels, n: g.plane, k: loweredRows,
                          alpha: 1, a: weights, b: b, beta: biasOffset == nil ? 0 : 1, c: out)
        }
    }

    private func accumulateBiasGradient(_ dy: UnsafePointer<Float>, _ g: Geometry, into db: UnsafeMutablePointer<Float>) {
        for s in 0..<g.n {
            for oc in 0..<outputChannels {
                db[oc] += Kernels.sum(dy + (s * outputChannels + oc) * g.plane, g.plane)
            }
        }
    }

    /// 1×1: the image is its own column matrix. dW += dY·Xᵀ, dX = Wᵀ·dY per image.
    private func backwardPointwise(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: Geometry,
                                   inputGradient dx: UnsafeMutablePointer<Float>?, buffers: LayerBuffers) {
        let inImage = inputChannels * g.plane, outImage = outputChannels * g.plane
        for s in 0..<g.n {
            let image = x + s * inImage, dOut = dy + s * outImage
            Kernels.sgemm(transposeA: false, transposeB: true, m: outputChannels, n: inputChannels, k: g.plane,
                          alpha: 1, a: dOut, b: image, beta: 1, c: buffers.gradients + weightOffset)
            guard let dx else { continue }
            Kernels.sgemm(transposeA: true, transposeB: false, m: inputChannels, n: g.plane, k: outputChannels,
                          alpha: 1, a: buffers.parameters + weightOffset, b: dOut, beta: 0, c: dx + s * inImage)
        }
    }

    /// Images whose columns share one weight-gradient GEMM: dW = dY·colsᵀ per image is a skinny
    /// 16×144×784 product that runs far below the reference; a few images side by side give it a
    /// longer inner dimension while the column block (≈ 2 MB) still stays in cache.
    private func imagesPerGradientBlock(_ g: Geometry, _ execution: ExecutionOptions) -> Int {
        let target = max(1, (512 * 1024) / max(loweredRows * g.plane, 1))   // ≈ 2 MB of columns
        return max(1, min(g.n, execution.imagesPerGradientBlock, target))
    }

    /// Per block of images: their columns and dY side by side ([rows, width], [out, width]),
    /// dW += dY·colsᵀ, and if wanted dcols = Wᵀ·dY scattered back into each image's dX.
    private func backwardLowered(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: Geometry,
                                 inputGradient dx: UnsafeMutablePointer<Float>?, buffers: LayerBuffers) {
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        let chunk = imagesPerGradientBlock(g, buffers.execution)
        let columns = ScratchBuffer(loweredRows * g.plane * chunk)
        let columnGradient = ScratchBuffer(dx == nil ? 0 : loweredRows * g.plane * chunk)
        let gathered = ScratchBuffer(outImage * chunk)
        let padded = ScratchBuffer(inputChannels * g.hp * g.wp)   // its zero border persists
        let paddedGradient = ScratchBuffer(dx == nil ? 0 : inputChannels * g.hp * g.wp)
        var first = 0
        while first < g.n {
            let count = min(chunk, g.n - first), width = count * g.plane
            for j in 0..<count {
                let s = first + j
                lower(x + s * inImage, g, padded: padded.pointer, into: columns.pointer + j * g.plane, rowStride: width)
                for oc in 0..<outputChannels {
                    (gathered.pointer + oc * width + j * g.plane).update(from: dy + s * outImage + oc * g.plane,
                                                                         count: g.plane)
                }
            }
            Kernels.sgemm(transposeA: false, transposeB: true, m: outputChannels, n: loweredRows, k: width,
                          alpha: 1, a: gathered.pointer, b: columns.pointer, beta: 1, c: buffers.gradients + weightOffset)
            if let dx {
                Kernels.sgemm(transposeA: true, transposeB: false, m: loweredRows, n: width, k: outputChannels,
                              alpha: 1, a: buffers.parameters + weightOffset, b: gathered.pointer, beta: 0,
                              c: columnGradient.pointer)
                for j in 0..<count {
                    scatter(columnGradient.pointer + j * g.plane, rowStride: width, g, padded: paddedGradient.pointer,
                            into: dx + (first + j) * inImage)
                }
            }
            first += count
        }
    }

    /// col2im of one image's column gradient into a zeroed padded plane, then unpadded into dX.
    private func scatter(_ columns: UnsafePointer<Float>, rowStride: Int, _ g: Geometry,
                         padded: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        padded.update(repeating: 0, count: inputChannels * g.hp * g.wp)
        Kernels.col2im(columns: columns, channels: inputChannels, paddedHeight: g.hp, paddedWidth: g.wp,
                       kernel: kernelSize, stride: stride, outHeight: g.ho, outWidth: g.wo, padded: padded,
                       rowStride: rowStride)
        Kernels.unpad(padded, channels: inputChannels, height: g.h, width: g.w, padding: padding, into: dx)
    }
}
