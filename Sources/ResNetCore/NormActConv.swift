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
    /// The convolution just before this layer, when its output (this layer's input) is cheap to
    /// form again from the input it keeps anyway — the network's input layer, one input channel
    /// in: then forward keeps only the batch statistics, and backward recomputes that output
    /// block by block and x̂ from it with forward's own pass (the same bits). One activation-sized
    /// tensor fewer from forward to backward, for one small convolution more.
    public var recomputesInput: Conv2d?
    private var statistics: (shape: [Int], mean: [Float], inverseStd: [Float], count: Double)?

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
        var output = Tensor(uninitializedShape: [g.n, g.out, g.h, g.w])
        try input.data.withUnsafeBufferPointer { x in
            try output.data.withUnsafeMutableBufferPointer { y in
                try run(x.baseAddress!, into: y.baseAddress!, g, training: training, buffers: buffers)
            }
        }
        return output
    }

    /// With the same image size in and out, the output is written over the input, block by
    /// block after the block has been normalised: no second activation-sized tensor.
    public func forward(owned input: consuming Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        let g = try geometry(input.shape)
        guard g.inImage == g.outImage else { return try forward(input, training: training, buffers: buffers) }
        var tensor = consume input
        try tensor.data.withUnsafeMutableBufferPointer { x in
            try run(x.baseAddress!, into: x.baseAddress!, g, training: training, buffers: buffers)
        }
        tensor.shape = [g.n, g.out, g.h, g.w]
        return tensor
    }

    /// The forward pass from `x` into `y` (which may be `x`: each block of images is read
    /// before its output is written, and the statistics are taken first).
    private func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ g: Geometry, training: Bool,
                     buffers: LayerBuffers) throws {
        let (mean, inverseStd, count) = try norm.statistics(x, batch: g.n, plane: g.plane, training: training,
                                                            buffers: buffers)
        let store = training && recomputesInput == nil
            ? SavedNormalized(shape: [g.n, g.c, g.h, g.w], image: g.inImage, storage: buffers.execution.savedActivations,
                              inverseStd: inverseStd, count: count) : nil
        statistics = training && recomputesInput != nil ? ([g.n, g.c, g.h, g.w], mean, inverseStd, count) : nil
        // The output is written block by block and read by the next layer after the whole batch.
        let convolution = conv.convolution(buffers.execution).streamingOutput
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage)
        let weights = buffers.parameters + conv.weightOffset
        let bias = conv.biasOffset.map { UnsafePointer(buffers.parameters + $0) }
        var first = 0
        while first < g.n {
            let count = min(block, g.n - first)
            for j in 0..<count {
                // x̂ straight into the kept store, σ(γ·x̂ + β) into the convolution's input.
                FusedElementwise.normalizeAndActivate(x + (first + j) * g.inImage, channels: g.c, plane: g.plane,
                                                      mean: mean, inverseStd: inverseStd, norm: norm,
                                                      activation: activation, buffers: buffers,
                                                      keep: store?.normalized(first + j),
                                                      into: activated.pointer + j * g.inImage)
            }
            convolution.forward(activated.pointer, batch: count, height: g.h, width: g.w, weights: weights,
                                bias: bias, into: y + first * g.outImage)
            first += count
        }
        saved = store
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        // With the input recomputed, x̂ is formed again below, block by block, into a store made here.
        let recompute = recomputesInput.flatMap { stem in statistics.map { (stem, $0) } }
        guard let saved = saved ?? recompute.map({ _, kept in
            SavedNormalized(shape: kept.shape, image: kept.shape.dropFirst().reduce(1, *),
                            storage: buffers.execution.savedActivations, inverseStd: kept.inverseStd, count: kept.count)
        }) else { throw ResNetCoreError.backwardWithoutForward("NormActConv") }
        let g = try geometry(saved.shape)
        guard outputGradient.shape == [g.n, g.out, g.h, g.w] else {
            throw ResNetCoreError.shapeMismatch("NormActConv gradient \(outputGradient.shape)")
        }
        let convolution = conv.convolution(buffers.execution)
        let block = min(buffers.execution.imagesPerFusedBlock, g.n)
        let activated = ScratchBuffer(block * g.inImage)
        // Per-channel Σdz and Σdz·x̂ for the BatchNorm backward, dz = dL/d(γx̂+β).
        var sums = [Double](repeating: 0, count: 2 * g.c)
        // When input and output images have the same size, dx is formed in dY's storage (this
        // layer owns it): a block's da goes to a small buffer, and the σ′ pass writes its dz over
        // the block's dY, which the convolution call has finished reading.
        var outputGradient = consume outputGradient
        let inPlace = g.inImage == g.outImage
        let blockGradient = inPlace ? ScratchBuffer(block * g.inImage) : nil
        var separate = inPlace ? nil : Tensor(uninitializedShape: saved.shape)
        let recomputed = recompute.map { _ in ScratchBuffer(block * g.inImage) }
        func pass(_ dy: UnsafeMutablePointer<Float>, _ dx: UnsafeMutablePointer<Float>) throws {
            var first = 0
            while first < g.n {
                let count = min(block, g.n - first)
                if let (stem, stats) = recompute, let z = recomputed {
                    try stem.recomputeOutput(first: first, count: count, buffers: buffers, into: z.pointer)
                    for j in 0..<count {
                        FusedElementwise.normalizeAndActivate(z.pointer + j * g.inImage, channels: g.c, plane: g.plane,
                                                              mean: stats.mean, inverseStd: stats.inverseStd, norm: norm,
                                                              activation: activation, buffers: buffers,
                                                              keep: saved.normalized(first + j),
                                                              into: activated.pointer + j * g.inImage)
                        // A kept half x̂ is what the layer that keeps it forms σ from in backward.
                        if saved.storage == .half {
                            FusedElementwise.activate(saved.normalized(first + j), channels: g.c, plane: g.plane,
                                                      norm: norm, activation: activation, buffers: buffers,
                                                      into: activated.pointer + j * g.inImage)
                        }
                    }
                } else {
                    for j in 0..<count {
                        FusedElementwise.activate(saved.normalized(first + j), channels: g.c, plane: g.plane, norm: norm,
                                                  activation: activation, buffers: buffers,
                                                  into: activated.pointer + j * g.inImage)
                    }
                }
                // da = conv(dY, W') with dW and the bias gradient.
                let da = blockGradient?.pointer ?? dx + first * g.inImage
                convolution.backward(input: activated.pointer, outputGradient: dy + first * g.outImage,
                                     batch: count, height: g.h, width: g.w,
                                     weights: buffers.parameters + conv.weightOffset, inputGradient: da,
                                     weightGradient: buffers.gradients + conv.weightOffset,
                                     biasGradient: conv.biasOffset.map { buffers.gradients + $0 })
                for j in 0..<count {
                    FusedElementwise.activationBackward(activated: activated.pointer + j * g.inImage,
                                                        gradient: da + j * g.inImage,
                                                        into: dx + (first + j) * g.inImage,
                                                        xhat: saved.normalized(first + j), channels: g.c,
                                                        plane: g.plane, activation: activation, sums: &sums)
                }
                first += count
            }
        }
        try outputGradient.data.withUnsafeMutableBufferPointer { dy in
            if separate == nil {
                try pass(dy.baseAddress!, dy.baseAddress!)
            } else {
                try separate!.data.withUnsafeMutableBufferPointer { dx in try pass(dy.baseAddress!, dx.baseAddress!) }
            }
        }
        var inputGradient = separate ?? Tensor(shape: saved.shape, data: outputGradient.data)
        outputGradient = Tensor(shape: [0], data: [])   // inputGradient now holds the only reference
        try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
        self.saved = nil
        statistics = nil
        return inputGradient
    }
}
