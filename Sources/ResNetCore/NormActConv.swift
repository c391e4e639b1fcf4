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

    private var saved: SavedNormalized?

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

    private struct Geometry {
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

    /// a = σ(γ·x̂ + β) for one image (C×plane) into `activated`, then shifted into `shifted`.
    private func activateAndShift(_ xhat: UnsafePointer<Float>, _ g: Geometry, _ conv: SameConvolution,
                                  buffers: LayerBuffers, activated: UnsafeMutablePointer<Float>,
                                  shifted: UnsafeMutablePointer<Float>) {
        NormAct.activate(xhat, norm: norm, activation: activation, plane: g.plane, buffers: buffers, into: activated)
        conv.shiftStacked(activated, images: 1, imageHeight: g.h, into: shifted)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input.shape)
        let (mean, inverseStd, count) = try input.data.withUnsafeBufferPointer { x in
            try norm.statistics(x.baseAddress!, batch: g.n, plane: g.plane, training: training, buffers: buffers)
        }
        let store = training ? SavedNormalized(shape: input.shape, image: g.inImage, storage: buffers.execution.savedActivations,
                                               inverseStd: inverseStd, count: count) : nil
        var normalized = [Float](repeating: 0, count: g.inImage)   // x̂ of the current image
        var output = Tensor(uninitializedShape: [g.n, g.out, g.h, g.w])
        let sc = convolution(g)
        var work = Workspace(sc)
        let packed = sc.packWeights(buffers.parameters + self.conv.weightOffset)
        let bias = self.conv.biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        input.data.withUnsafeBufferPointer { x in
          normalized.withUnsafeMutableBufferPointer { xh in
            output.data.withUnsafeMutableBufferPointer { y in
              packed.withUnsafeBufferPointer { packed in
                work.with { activated, shifted, wide in
                  for s in 0..<g.n {
                    let image = x.baseAddress! + s * g.inImage
                    let xhat = xh.baseAddress!
                    for ch in 0..<g.c {
                        let src = image + ch * g.plane, dst = xhat + ch * g.plane
                        let m = mean[ch], inv = inverseStd[ch]
                        for i in 0..<g.plane { dst[i] = (src[i] - m) * inv }
                    }
                    store?.set(s, from: xhat)
                    activateAndShift(xhat, g, sc, buffers: buffers, activated: activated, shifted: shifted)
                    sc.forward(shifted: shifted, packedWeights: packed.baseAddress!, wide: wide)
                    sc.narrow(wide, bias: bias, into: y.baseAddress! + s * g.outImage)
                  }
                }
              }
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
        let sc = convolution(g)
        // dX is the same-padded convolution of dY with the flipped, transposed weights.
        let gc = SameConvolution(channels: g.out, outputs: g.c, height: g.h, width: g.w, kernel: g.k)
        let flipped = gc.packWeights(Kernels.flippedWeights(buffers.parameters + conv.weightOffset, outputs: g.out,
                                                            inputs: g.c, kernel: g.k))
        var packedGradient = [Float](repeating: 0, count: g.k * g.out * sc.tapRows)
        let dBias = conv.biasOffset.map { buffers.gradients + $0 }
        var inputGradient = Tensor(uninitializedShape: saved.shape)
        var decoded = [Float](repeating: 0, count: g.inImage)   // x̂ of the current image
        var work = Workspace(sc)
        var gradientWork = Workspace(gc)
        // dY on the padded width, zero in the discarded columns.
        var wideGradient = [Float](repeating: 0, count: g.out * sc.wideCount)
        // Per-channel Σdz and Σdz·x̂ for the BatchNorm backward, dz = dL/d(γx̂+β).
        var sums = [Double](repeating: 0, count: 2 * g.c)
        decoded.withUnsafeMutableBufferPointer { xh in
          outputGradient.data.withUnsafeBufferPointer { dy in
            inputGradient.data.withUnsafeMutableBufferPointer { dx in
              flipped.withUnsafeBufferPointer { flipped in
                packedGradient.withUnsafeMutableBufferPointer { dw in
                  wideGradient.withUnsafeMutableBufferPointer { dyWide in
                    work.with { activated, shifted, _ in
                      gradientWork.with { _, shiftedGradient, wide in
                        for s in 0..<g.n {
                            let xhat = saved.image(s, scratch: xh.baseAddress!)
                            let dOut = dy.baseAddress! + s * g.outImage
                            let dz = dx.baseAddress! + s * g.inImage
                            activateAndShift(xhat, g, sc, buffers: buffers, activated: activated, shifted: shifted)
                            sc.widen(dOut, into: dyWide.baseAddress!)
                            sc.weightGradient(shifted: shifted, wideGradient: dyWide.baseAddress!,
                                              packedGradient: dw.baseAddress!)
                            if let dBias {
                                for oc in 0..<g.out { dBias[oc] += Kernels.sum(dOut + oc * g.plane, g.plane) }
                            }
                            // da = conv(dY, W') straight into dx, then dz = da · σ'(a).
                            gc.shiftStacked(dOut, images: 1, imageHeight: g.h, into: shiftedGradient)
                            gc.forward(shifted: shiftedGradient, packedWeights: flipped.baseAddress!, wide: wide)
                            gc.narrow(wide, bias: nil, into: dz)
                            ActivationLayer.applyDerivative(activation, output: activated, gradient: dz, g.inImage)
                            norm.accumulateGradientSums(&sums, gradient: dz, normalized: xhat, plane: g.plane)
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
        sc.unpackGradient(packedGradient, into: buffers.gradients + conv.weightOffset)
        let coefficients = try norm.gradientCoefficients(&sums, inverseStd: saved.inverseStd, count: saved.count,
                                                         buffers: buffers)
        inputGradient.data.withUnsafeMutableBufferPointer { saved.finishInputGradient($0.baseAddress!, coefficients) }
        self.saved = nil
        return inputGradient
    }

    /// One image's scratch: the activation (C×H×W), the shifted stack (whose positions
    /// `shiftStacked` never writes stay zero) and the output on the padded width.
    private struct Workspace {
        var activated: [Float], shifted: [Float], wide: [Float]

        init(_ sc: SameConvolution) {
            activated = [Float](repeating: 0, count: sc.channels * sc.height * sc.width)
            shifted = [Float](repeating: 0, count: sc.shiftedCount)
            wide = [Float](repeating: 0, count: sc.outputs * sc.wideCount)
        }

        mutating func with(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                                    UnsafeMutablePointer<Float>) -> Void) {
            activated.withUnsafeMutableBufferPointer { a in
                shifted.withUnsafeMutableBufferPointer { t in
                    wide.withUnsafeMutableBufferPointer { w in
                        body(a.baseAddress!, t.baseAddress!, w.baseAddress!)
                    }
                }
            }
        }
    }
}
