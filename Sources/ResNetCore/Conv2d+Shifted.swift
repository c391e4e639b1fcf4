/// The stride-1 "same" convolution path of `Conv2d`: shifted copies instead of im2col
/// (`SameConvolution`), several images stacked per block of GEMMs.
extension Conv2d {
    /// (first image, number of blocks, images per block) groups covering the batch: full blocks
    /// and one smaller block for the remainder.
    static func shiftedBlocks(batch n: Int, blockSize: Int) -> [(first: Int, blocks: Int, count: Int)] {
        let b = max(1, min(n, blockSize))
        var groups: [(first: Int, blocks: Int, count: Int)] = []
        if n / b > 0 { groups.append((0, n / b, b)) }
        if n % b > 0 { groups.append((n - n % b, 1, n % b)) }
        return groups
    }

    private func sameConvolution(_ g: Geometry) -> SameConvolution {
        SameConvolution(channels: inputChannels, outputs: outputChannels, height: g.h, width: g.w, kernel: kernelSize)
    }

    private func stacked(_ g: Geometry, images: Int, transposed: Bool = false) -> SameConvolution {
        SameConvolution.stacked(channels: transposed ? outputChannels : inputChannels,
                                outputs: transposed ? inputChannels : outputChannels,
                                imageHeight: g.h, width: g.w, kernel: kernelSize, images: images)
    }

    func forwardShifted(_ x: UnsafePointer<Float>, _ g: Geometry, into y: UnsafeMutablePointer<Float>,
                        buffers: LayerBuffers) {
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        let packed = sameConvolution(g).packWeights(buffers.parameters + weightOffset)
        let bias = biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        packed.withUnsafeBufferPointer { w in
            for (first, blocks, count) in Conv2d.shiftedBlocks(batch: g.n, blockSize: buffers.execution.imagesPerShiftedBlock) {
                let sc = stacked(g, images: count)
                let t = ScratchBuffer(sc.shiftedCount)   // positions shiftStacked never writes stay zero
                let z = ScratchBuffer(sc.tapOutputCount)
                for block in 0..<blocks {
                    let s = first + block * count
                    sc.shiftStacked(x + s * inImage, images: count, imageHeight: g.h, into: t.pointer)
                    sc.forwardAllTaps(shifted: t.pointer, packedWeights: w.baseAddress!, tapOutputs: z.pointer)
                    sc.sumTapsStacked(z.pointer, images: count, imageHeight: g.h, bias: bias, into: y + s * outImage)
                }
            }
        }
    }

    /// dW from the widened input and the shifted gradient stack; dX (if wanted) as the same-padded
    /// convolution of dY with the flipped, transposed weights.
    func backwardShifted(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: Geometry,
                         inputGradient dx: UnsafeMutablePointer<Float>?, buffers: LayerBuffers) {
        let inImage = inputChannels * g.h * g.w, outImage = outputChannels * g.plane
        let flipped = dx == nil ? [] : SameConvolution(channels: outputChannels, outputs: inputChannels, height: g.h,
                                                       width: g.w, kernel: kernelSize)
            .packWeights(Kernels.flippedWeights(buffers.parameters + weightOffset, outputs: outputChannels,
                                                inputs: inputChannels, kernel: kernelSize))
        let transposedGradient = ScratchBuffer(sameConvolution(g).transposedGradientCount)
        let dBias = biasOffset.map { buffers.gradients + $0 }
        flipped.withUnsafeBufferPointer { flipped in
            for (first, blocks, count) in Conv2d.shiftedBlocks(batch: g.n, blockSize: buffers.execution.imagesPerShiftedBlock) {
                let sc = stacked(g, images: count), gc = stacked(g, images: count, transposed: true)
                // Positions the copies never write (borders, gaps, discarded columns) stay zero.
                let xs = ScratchBuffer(sc.widenedInputCount), dt = ScratchBuffer(gc.shiftedCount)
                let z = ScratchBuffer(dx == nil ? 0 : gc.tapOutputCount)
                for block in 0..<blocks {
                    let s = first + block * count
                    sc.widenShiftedInput(x + s * inImage, images: count, imageHeight: g.h, into: xs.pointer)
                    sc.shiftStackedGradient(dy + s * outImage, images: count, imageHeight: g.h, into: dt.pointer,
                                            biasGradient: dBias)
                    sc.weightGradient(widenedInput: xs.pointer, gradientStack: dt.pointer,
                                      transposedGradient: transposedGradient.pointer)
                    guard let dx else { continue }
                    gc.forwardAllTaps(shifted: dt.pointer, packedWeights: flipped.baseAddress!, tapOutputs: z.pointer)
                    gc.sumTapsStacked(z.pointer, images: count, imageHeight: g.h, bias: nil, into: dx + s * inImage)
                }
            }
        }
        sameConvolution(g).unpackTransposedGradient(transposedGradient.pointer, into: buffers.gradients + weightOffset)
    }
}
