/// BatchNorm → σ → Conv2d ("same" padding, stride 1) as one layer: the residual sub-network's
/// building block, fused so that it keeps one activation tensor instead of two and makes fewer
/// passes over memory.
///
/// Forward normalises the batch block by block (`ExecutionOptions.imagesPerFusedBlock` images):
/// one pass per image (`FusedElementwise`) saves x̂ — in half precision by default, see
/// `ExecutionOptions.savedActivations` — and forms a = σ(γ·x̂ + β) in a small buffer, which is
/// convolved in one call, so the whole batch's activations never exist at once. Backward forms
/// each block's activations again from x̂ (one pass), then one convolution call gives dW, the bias
/// gradient and da, from which one pass per image gives dz = da · σ'(a) and BatchNorm's sums.
///
/// Parameters and state are those of the `BatchNorm` and `Conv2d` it wraps (same offsets, same
/// names), so the model layout is unchanged; the convolution runs on the back-end `Conv2d` picks.
public final class NormActConv: Layer {
    public let norm: BatchNorm
    public let activation: Activation
    public let conv: Conv2d

    var saved: SavedNormalized?

    public init(norm: BatchNorm, activation: Activation, conv: Conv2d) {
        precondition(conv.stride == 1 && 2 * conv.padding == conv.kernelSize - 1
                     && conv.inputChannels == norm.channels,
                     "NormActConv needs a stride-1 'same' convolution over the normalised channels")
        self.norm = norm
        self.activation = activation
        self.conv = conv
    }

    public func freshCopy() -> Layer {
        NormActConv(norm: norm.freshCopy() as! BatchNorm, activation: activation, conv: conv.freshCopy() as! Conv2d)
    }

    struct Geometry {
        let n: Int, c: Int, out: Int, h: Int, w: Int
        var plane: Int { h * w }
        var inImage: Int { c * plane }
        var outImage: Int { out * plane }
    }

    private func geometry(_ shape: [Int]) throws -> Geometry {
        guard shape.count == 4, shape[1] == conv.inputChannels else {
            throw ResNetCoreError.shapeMismatch("NormActConv(\(conv.inputChannels)→\(conv.outputChannels)) got \(shape)")
        }
        return Geometry(n: shape[0], c: shape[1], out: conv.outputChannels, h: shape[2], w: shape[3])
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input.shape)
        let (mean, inverseStd, count) = try input.data.withUnsafeBufferPointer { x in
            try norm.statistics(x.baseAddress!, batch: g.n, plane: g.plane, training: training, buffers: buffers)
        }
        let store = training ? SavedNormalized(shape: input.shape, image: g.inImage,
                                               storage: buffers.execution.savedActivations,
                                               inverseStd: inverseStd, count: count) : nil
        // The output is written block by block and read by the next layer after the whole batch.
        let convolution = conv.convolution(buffers.execution).streamingOutput
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage)
        let weights = buffers.parameters + conv.weightOffset
        let bias = conv.biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        var output = Tensor(uninitializedShape: [g.n, g.out, g.h, g.w])
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                var first = 0
                while first < g.n {
                    let count = min(block, g.n - first)
                    for j in 0..<count {
                        // x̂ straight into the kept store, σ(γ·x̂ + β) into the convolution's input.
                        FusedElementwise.normalizeAndActivate(x.baseAddress! + (first + j) * g.inImage, channels: g.c,
                                                              plane: g.plane, mean: mean, inverseStd: inverseStd,
                                                              norm: norm, activation: activation, buffers: buffers,
                                                              keep: store?.normalized(first + j),
                                                              into: activated.pointer + j * g.inImage)
                    }
                    convolution.forward(activated.pointer, batch: count, height: g.h, width: g.w, weights: weights,
                                        bias: bias, into: y.baseAddress! + first * g.outImage)
                    first += count
                }
            }
        }
        saved = store
        return output
    }

    public func backward(_ outputGradient: Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let saved else { throw ResNetCoreError.backwardWithoutForward("NormActConv") }
        let g = try geometry(saved.shape)
        guard outputGradient.shape == [g.n, g.out, g.h, g.w] else {
            throw ResNetCoreError.shapeMismatch("NormActConv gradient \(outputGradient.shape)")
        }
        let convolution = conv.convolution(buffers.execution)
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage)
        // Per-channel Σdz and Σdz·x̂ for the BatchNorm backward, dz = dL/d(γx̂+β).
        var sums = [Double](repeating: 0, count: 2 * g.c)
        var inputGradient = Tensor(uninitializedShape: saved.shape)
        outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
                var first = 0
                while first < g.n {
                    let count = min(block, g.n - first)
                    for j in 0..<count {
                        FusedElementwise.activate(saved.normalized(first + j), channels: g.c, plane: g.plane, norm: norm,
                                                  activation: activation, buffers: buffers,
                                                  into: activated.pointer + j * g.inImage)
                    }
                    // da = conv(dY, W') straight into dx, with dW and the bias gradient.
                    convolution.backward(input: activated.pointer, outputGradient: dy.baseAddress! + first * g.outImage,
                                         batch: count, height: g.h, width: g.w,
                                         weights: buffers.parameters + conv.weightOffset,
                                         inputGradient: dx.baseAddress! + first * g.inImage,
                                         weightGradient: buffers.gradients + conv.weightOffset,
                                         biasGradient: conv.biasOffset.map { buffers.gradients + $0 })
                    for j in 0..<count {
                        let dz = dx.baseAddress! + (first + j) * g.inImage
                        FusedElementwise.activationBackward(activated: activated.pointer + j * g.inImage, gradient: dz,
                                                            into: dz, xhat: saved.normalized(first + j), channels: g.c,
                                                            plane: g.plane, activation: activation, sums: &sums)
                    }
                    first += count
                }
            }
        }
        try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
        self.saved = nil
        return inputGradient
    }
}
