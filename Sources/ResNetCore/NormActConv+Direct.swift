/// The fused BN → σ → conv layer on the direct 3×3 kernels (`DirectConvolution`): the
/// activations of a few images at a time are formed in a small buffer and convolved in one call,
/// so the whole batch's activations never exist at once.
extension NormActConv {
    func directConvolution(_ g: Geometry, _ execution: ExecutionOptions) -> DirectConvolution? {
        guard execution.convolutions == .direct, g.k == 3 else { return nil }
        return DirectConvolution(inputChannels: g.c, outputChannels: g.out)
    }

    /// x̂ = (x − mean) / σ for one image (C×plane).
    func normalize(_ image: UnsafePointer<Float>, _ g: Geometry, mean: [Float], inverseStd: [Float],
                   into xhat: UnsafeMutablePointer<Float>) {
        for ch in 0..<g.c {
            let src = image + ch * g.plane, dst = xhat + ch * g.plane
            let m = mean[ch], inv = inverseStd[ch]
            for i in 0..<g.plane { dst[i] = (src[i] - m) * inv }
        }
    }

    /// Per block of images: x̂ (saved), a = σ(γ·x̂ + β) into the block buffer, then one convolution
    /// call whose output goes around the caches (the next layer reads it after the whole batch).
    func forwardDirect(_ x: UnsafePointer<Float>, _ g: Geometry, mean: [Float], inverseStd: [Float],
                       store: SavedNormalized?, _ direct: DirectConvolution, buffers: LayerBuffers,
                       into y: UnsafeMutablePointer<Float>) {
        var direct = direct
        direct.outputWrites = .streaming
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage), xhat = ScratchBuffer(g.inImage)
        let bias = conv.biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        var first = 0
        while first < g.n {
            let count = min(block, g.n - first)
            for j in 0..<count {
                normalize(x + (first + j) * g.inImage, g, mean: mean, inverseStd: inverseStd, into: xhat.pointer)
                store?.set(first + j, from: xhat.pointer)
                NormAct.activate(xhat.pointer, norm: norm, activation: activation, plane: g.plane, buffers: buffers,
                                 into: activated.pointer + j * g.inImage)
            }
            direct.forward(activated.pointer, batch: count, height: g.h, width: g.w,
                           weights: buffers.parameters + conv.weightOffset, bias: bias, into: y + first * g.outImage)
            first += count
        }
    }

    /// Per block: the activations again from the saved x̂, one call for dW, the bias gradient and
    /// da = conv(dY, W') into dx, then dz = da · σ'(a) and the per-channel sums Σdz, Σdz·x̂ that
    /// the BatchNorm backward (`SavedNormalized.finishInputGradient`) needs.
    func backwardDirect(_ dy: UnsafePointer<Float>, _ g: Geometry, _ saved: SavedNormalized,
                        _ direct: DirectConvolution, sums: inout [Double], buffers: LayerBuffers,
                        into dx: UnsafeMutablePointer<Float>) {
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage), decoded = ScratchBuffer(block * g.inImage)
        var xhat = [UnsafePointer<Float>](repeating: UnsafePointer(decoded.pointer), count: block)
        var first = 0
        while first < g.n {
            let count = min(block, g.n - first)
            for j in 0..<count {
                xhat[j] = saved.image(first + j, scratch: decoded.pointer + j * g.inImage)
                NormAct.activate(xhat[j], norm: norm, activation: activation, plane: g.plane, buffers: buffers,
                                 into: activated.pointer + j * g.inImage)
            }
            direct.backward(input: activated.pointer, outputGradient: dy + first * g.outImage, batch: count,
                            height: g.h, width: g.w, weights: buffers.parameters + conv.weightOffset,
                            inputGradient: dx + first * g.inImage, weightGradient: buffers.gradients + conv.weightOffset,
                            biasGradient: conv.biasOffset.map { buffers.gradients + $0 })
            for j in 0..<count {
                let dz = dx + (first + j) * g.inImage
                ActivationLayer.applyDerivative(activation, output: activated.pointer + j * g.inImage, gradient: dz, g.inImage)
                norm.accumulateGradientSums(&sums, gradient: dz, normalized: xhat[j], plane: g.plane)
            }
            first += count
        }
    }
}
