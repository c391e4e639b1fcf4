/// BatchNorm → σ → Conv2d ("same" padding, stride 1) as one layer: the residual sub-network's
/// building block, fused so that it keeps one activation tensor instead of two and makes fewer
/// passes over memory.
///
/// Forward normalises each image, applies σ and lowers it for the GEMM while the image is in
/// cache; only the normalised input x̂ is saved — in half precision by default, see
/// `ExecutionOptions.savedActivations` — and the activation is recomputed per image in backward. Backward computes the activation gradient as a convolution of dY with the flipped,
/// transposed weights — an (in × out·k²)·(out·k² × plane) GEMM of the forward's shape — instead
/// of Wᵀ·dY followed by a col2im scatter-add, zeroing and unpadding.
///
/// Parameters and state are those of the `BatchNorm` and `Conv2d` it wraps (same offsets, same
/// names), so the model layout is unchanged.
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
        let n: Int, c: Int, out: Int, h: Int, w: Int, k: Int, p: Int
        var plane: Int { h * w }
        var hp: Int { h + 2 * p }
        var wp: Int { w + 2 * p }
        var inImage: Int { c * plane }
        var outImage: Int { out * plane }
        var rows: Int { c * k * k }
    }

    private func geometry(_ shape: [Int]) throws -> Geometry {
        guard shape.count == 4, shape[1] == conv.inputChannels else {
            throw ResNetCoreError.shapeMismatch("NormActConv(\(conv.inputChannels)→\(conv.outputChannels)) got \(shape)")
        }
        return Geometry(n: shape[0], c: shape[1], out: conv.outputChannels, h: shape[2], w: shape[3],
                        k: conv.kernelSize, p: conv.padding)
    }

    /// The convolution's shapes for one image (see `SameConvolution`).
    private func convolution(_ g: Geometry) -> SameConvolution {
        SameConvolution(channels: g.c, outputs: g.out, height: g.h, width: g.w, kernel: g.k)
    }

    /// a = σ(γ·x̂ + β) for one image (C×plane) into the workspace, then its shifted stack.
    private func activateAndShift(_ xhat: UnsafePointer<Float>, _ g: Geometry, _ conv: SameConvolution,
                                  buffers: LayerBuffers, into work: Workspace) {
        NormAct.activate(xhat, norm: norm, activation: activation, plane: g.plane, buffers: buffers,
                         into: work.activated.pointer)
        conv.shiftStacked(work.activated.pointer, images: 1, imageHeight: g.h, into: work.shifted.pointer)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input.shape)
        let (mean, inverseStd, count) = try input.data.withUnsafeBufferPointer { x in
            try norm.statistics(x.baseAddress!, batch: g.n, plane: g.plane, training: training, buffers: buffers)
        }
        let store = training ? SavedNormalized(shape: input.shape, image: g.inImage,
                                               storage: buffers.execution.savedActivations,
                                               inverseStd: inverseStd, count: count) : nil
        var output = Tensor(uninitializedShape: [g.n, g.out, g.h, g.w])
        if let direct = directConvolution(g, buffers.execution) {
            input.data.withUnsafeBufferPointer { x in
                output.data.withUnsafeMutableBufferPointer { y in
                    forwardDirect(x.baseAddress!, g, mean: mean, inverseStd: inverseStd, store: store, direct,
                                  buffers: buffers, into: y.baseAddress!)
                }
            }
            saved = store
            return output
        }
        let sc = convolution(g), work = Workspace(sc)
        let xhat = ScratchBuffer(g.inImage)   // x̂ of the current image
        let packed = ScratchBuffer(copying: sc.packWeights(buffers.parameters + conv.weightOffset))
        let bias = conv.biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        input.data.withUnsafeBufferPointer { x in
            output.data.withUnsafeMutableBufferPointer { y in
                for s in 0..<g.n {
                    normalize(x.baseAddress! + s * g.inImage, g, mean: mean, inverseStd: inverseStd, into: xhat.pointer)
                    store?.set(s, from: xhat.pointer)
                    activateAndShift(xhat.pointer, g, sc, buffers: buffers, into: work)
                    sc.forward(shifted: work.shifted.pointer, packedWeights: packed.pointer, wide: work.wide.pointer)
                    sc.narrow(work.wide.pointer, bias: bias, into: y.baseAddress! + s * g.outImage)
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
        if let direct = directConvolution(g, buffers.execution) {
            var sums = [Double](repeating: 0, count: 2 * g.c)
            var inputGradient = Tensor(uninitializedShape: saved.shape)
            outputGradient.data.withUnsafeBufferPointer { dy in
                inputGradient.data.withUnsafeMutableBufferPointer { dx in
                    backwardDirect(dy.baseAddress!, g, saved, direct, sums: &sums, buffers: buffers, into: dx.baseAddress!)
                }
            }
            try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
            self.saved = nil
            return inputGradient
        }
        let sc = convolution(g)
        // dX is the same-padded convolution of dY with the flipped, transposed weights.
        let gc = SameConvolution(channels: g.out, outputs: g.c, height: g.h, width: g.w, kernel: g.k)
        let flipped = ScratchBuffer(copying: gc.packWeights(Kernels.flippedWeights(
            buffers.parameters + conv.weightOffset, outputs: g.out, inputs: g.c, kernel: g.k)))
        let packedGradient = ScratchBuffer(g.k * g.out * sc.tapRows)
        let xhat = ScratchBuffer(g.inImage)   // x̂ of the current image
        let work = Workspace(sc), gradientWork = Workspace(gc)
        // dY on the padded width, zero in the discarded columns.
        let wideGradient = ScratchBuffer(g.out * sc.wideCount)
        let dBias = conv.biasOffset.map { buffers.gradients + $0 }
        // Per-channel Σdz and Σdz·x̂ for the BatchNorm backward, dz = dL/d(γx̂+β).
        var sums = [Double](repeating: 0, count: 2 * g.c)
        var inputGradient = Tensor(uninitializedShape: saved.shape)
        outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
                for s in 0..<g.n {
                    let xs = saved.image(s, scratch: xhat.pointer)
                    let dOut = dy.baseAddress! + s * g.outImage, dz = dx.baseAddress! + s * g.inImage
                    activateAndShift(xs, g, sc, buffers: buffers, into: work)
                    sc.widen(dOut, into: wideGradient.pointer)
                    sc.weightGradient(shifted: work.shifted.pointer, wideGradient: wideGradient.pointer,
                                      packedGradient: packedGradient.pointer)
                    if let dBias {
                        for oc in 0..<g.out { dBias[oc] += Kernels.sum(dOut + oc * g.plane, g.plane) }
                    }
                    // da = conv(dY, W') straight into dx, then dz = da · σ'(a).
                    gc.shiftStacked(dOut, images: 1, imageHeight: g.h, into: gradientWork.shifted.pointer)
                    gc.forward(shifted: gradientWork.shifted.pointer, packedWeights: flipped.pointer,
                               wide: gradientWork.wide.pointer)
                    gc.narrow(gradientWork.wide.pointer, bias: nil, into: dz)
                    ActivationLayer.applyDerivative(activation, output: work.activated.pointer, gradient: dz, g.inImage)
                    norm.accumulateGradientSums(&sums, gradient: dz, normalized: xs, plane: g.plane)
                }
            }
        }
        sc.unpackGradient(packedGradient.pointer, into: buffers.gradients + conv.weightOffset)
        try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
        self.saved = nil
        return inputGradient
    }

    /// One image's scratch: the activation (C×H×W), the shifted stack (whose positions
    /// `shiftStacked` never writes stay zero) and the output on the padded width.
    private struct Workspace {
        let activated: ScratchBuffer, shifted: ScratchBuffer, wide: ScratchBuffer

        init(_ sc: SameConvolution) {
            activated = ScratchBuffer(sc.channels * sc.height * sc.width)
            shifted = ScratchBuffer(sc.shiftedCount)
            wide = ScratchBuffer(sc.outputs * sc.wideCount)
        }
    }
}
