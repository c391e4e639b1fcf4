/// A ResNet MLP or CNN built from a `ModelSpec` and a seed, with all parameters in one flat
/// buffer (forward order), gradients in a second buffer of the same layout, and BatchNorm
/// running statistics in a third.
///
/// ```swift
/// let model = ResNetModel(spec: .mlp(blocks: 2), seed: 1)
/// let y = try model.forward(Tensor(shape: [4, 1], data: [0, 1, 2, 3]), training: true)
/// let (loss, dy) = mseLoss(prediction: y, target: target)
/// model.zeroGradients()
/// try model.backward(dy)
/// ```
public final class ResNetModel {
    public let spec: ModelSpec
    public let seed: UInt64
    public var parameters: [Float]
    /// Same layout as `parameters`; `backward` accumulates into it.
    public var gradients: [Float]
    /// Non-trainable state (BatchNorm running mean/variance), layout in `stateSlots`.
    public var state: [Float]
    public let slots: [ParameterSlot]
    public let stateSlots: [ParameterSlot]
    /// When set, BatchNorm sums its per-channel statistics across ranks (synchronised BN).
    public var batchNormReducer: BatchNormReducer?
    /// When set, training forwards fold BatchNorm's batch statistics into the running ones with
    /// this momentum instead of BatchNorm's own 0.1 (see `reestimateBatchNormStatistics`).
    public var statisticsMomentum: Float?
    /// How the layers run (saved-activation precision, convolution blocking); set by the owner.
    public var execution = ExecutionOptions()

    private enum Node {
        case layer(Layer)
        case block(ResidualBlock)
    }

    /// Consecutive pieces of the network whose parameters are contiguous: stem (MLP), each
    /// residual group (with its projection), head. Backward reports each piece's range.
    private struct Segment {
        var nodes: [Node]
        var parameterRange: Range<Int>
    }

    private let segments: [Segment]
    private let forwardFlops: Double
    private let backwardFlops: Double

    public var parameterCount: Int { parameters.count }

    /// Builds the model deterministically: the same (spec, seed) gives a bit-identical
    /// parameter buffer on every rank and platform. Traps on an invalid spec (see `validate()`).
    public init(spec: ModelSpec, seed: UInt64) {
        do { try spec.validate() } catch { preconditionFailure("\(error)") }
        self.spec = spec
        self.seed = seed
        let layout = LayoutBuilder()
        var flops = (forward: 0.0, backward: 0.0)
        switch spec.kind {
        case .mlp: segments = ResNetModel.buildMLP(spec, layout, &flops)
        case .cnn: segments = ResNetModel.buildCNN(spec, layout, &flops)
        }
        forwardFlops = flops.forward
        backwardFlops = flops.backward
        slots = layout.slots
        stateSlots = layout.stateSlots
        parameters = ResNetModel.initialValues(layout.slots, layout.initializers, layout.parameterCount, seed)
        state = ResNetModel.initialValues(layout.stateSlots, layout.stateInitializers, layout.stateCount, seed)
        gradients = [Float](repeating: 0, count: layout.parameterCount)
    }

    private static func initialValues(_ slots: [ParameterSlot], _ inits: [SlotInitializer],
                                      _ count: Int, _ seed: UInt64) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        for (slot, initializer) in zip(slots, inits) {
            switch initializer {
            case .constant(let c):
                for i in slot.range { values[i] = c }
            case .uniform(let bound):
                // A generator per slot, seeded from (seed, name): a slot's values do not depend
                // on which slots precede it.
                var rng = SplitMix64(seed: seed ^ FNV1a64.hash(slot.name))
                for i in slot.range { values[i] = rng.nextUniform(bound: bound) }
            }
        }
        return values
    }

    private static func buildMLP(_ spec: ModelSpec, _ layout: LayoutBuilder,
                                 _ flops: inout (forward: Double, backward: Double)) -> [Segment] {
        let width = spec.widths[0], initialization = spec.weightBound
        let tableau = spec.integrator.tableau, stages = Double(tableau.stages)
        var segments: [Segment] = []
        var start = layout.parameterCount
        let stem = Linear("stem", inputFeatures: spec.inputShape[0], outputFeatures: width,
                          initialization: initialization, computesInputGradient: false, layout: layout)
        flops.forward += stem.forwardFlopsPerSample
        flops.backward += stem.forwardFlopsPerSample
        segments.append(Segment(nodes: [.layer(stem)], parameterRange: start..<layout.parameterCount))

        start = layout.parameterCount
        var nodes: [Node] = []
        for b in 0..<spec.blocks[0] {
            let block = LayerPath.group(0).block(b)
            let fc1 = Linear(block.named("fc1"), inputFeatures: width, outputFeatures: width, initialization: initialization, layout: layout)
            let fc2 = Linear(block.named("fc2"), inputFeatures: width, outputFeatures: width, initialization: initialization, layout: layout)
            let f: [Layer] = [fc1, ActivationLayer(spec.activation), fc2]
            nodes.append(.block(ResidualBlock(subNetwork: f, tableau: tableau, h: Float(spec.h))))
            flops.forward += stages * 2 * fc1.forwardFlopsPerSample
            flops.backward += stages * 4 * fc1.forwardFlopsPerSample
        }
        segments.append(Segment(nodes: nodes, parameterRange: start..<layout.parameterCount))

        start = layout.parameterCount
        let head = Linear("head", inputFeatures: width, outputFeatures: spec.outputs, initialization: initialization, layout: layout)
        flops.forward += head.forwardFlopsPerSample
        flops.backward += 2 * head.forwardFlopsPerSample
        segments.append(Segment(nodes: [.layer(head)], parameterRange: start..<layout.parameterCount))
        return segments
    }

    private static func buildCNN(_ spec: ModelSpec, _ layout: LayoutBuilder,
                                 _ flops: inout (forward: Double, backward: Double)) -> [Segment] {
        let initialization = spec.weightBound
        let tableau = spec.integrator.tableau, stages = Double(tableau.stages)
        var channels = spec.inputShape[0], height = spec.inputShape[1], width = spec.inputShape[2]
        var segments: [Segment] = []
        // The input layer's BatchNorm and σ, fused with the first projection into one
        // NormActConv (in group 0's nodes): one saved tensor (x̂) instead of two.
        var stemNorm: BatchNorm?
        var stemConv: Conv2d?
        if spec.inputLayer {
            // The input layer: conv3×3 to the first group's channels, BatchNorm, σ (nothing
            // before it needs an input gradient).
            let start = layout.parameterCount
            let conv = Conv2d(LayerPath.named("stem").named("conv"), inputChannels: channels, outputChannels: spec.widths[0], kernelSize: 3,
                              stride: 1, padding: 1, bias: false, initialization: initialization, computesInputGradient: false,
                              layout: layout)
            let convFlops = conv.forwardFlopsPerSample(height: height, width: width)
            flops.forward += convFlops
            flops.backward += convFlops
            channels = spec.widths[0]
            stemNorm = BatchNorm(LayerPath.named("stem").named("bn"), channels: channels, layout: layout)
            stemConv = conv
            segments.append(Segment(nodes: [.layer(conv)], parameterRange: start..<layout.parameterCount))
        }
        for (g, groupChannels) in spec.widths.enumerated() {
            let start = layout.parameterCount
            let group = LayerPath.group(g)
            let firstLayer = g == 0 && !spec.inputLayer
            let projection = Conv2d(group.named("projection").named("conv"), inputChannels: channels,
                                    outputChannels: groupChannels, kernelSize: 3, stride: g == 0 ? 1 : 2,
                                    padding: 1, bias: false, initialization: initialization,
                                    computesInputGradient: !firstLayer, layout: layout)
            let projectionFlops = projection.forwardFlopsPerSample(height: height, width: width)
            flops.forward += projectionFlops
            flops.backward += (firstLayer ? 1 : 2) * projectionFlops
            (height, width) = projection.outputSize(height: height, width: width)
            channels = groupChannels
            // Group 0's projection (stride 1) consumes σ(BN(stem)): BN → σ → conv as one layer.
            // Its input, the stem convolution's output, is formed again in backward from the
            // images the stem keeps anyway (a convolution of one or three channels in).
            let first: Layer = g == 0 ? stemNorm.map { norm -> Layer in
                let layer = NormActConv(norm: norm, activation: spec.activation, conv: projection)
                layer.recomputesInput = stemConv
                return layer
            } ?? projection : projection
            var nodes: [Node] = [
                .layer(first),
                // BN → σ fused: keeps x̂ only (see NormAct).
                .layer(NormAct(norm: BatchNorm(group.named("projection").named("bn"), channels: channels, layout: layout),
                               activation: spec.activation)),
            ]
            for b in 0..<spec.blocks[g] {
                let block = group.block(b)
                let bn1 = BatchNorm(block.named("bn1"), channels: channels, layout: layout)
                let conv1 = Conv2d(block.named("conv1"), inputChannels: channels, outputChannels: channels, kernelSize: 3,
                                   stride: 1, padding: 1, bias: true, initialization: initialization, layout: layout)
                let bn2 = BatchNorm(block.named("bn2"), channels: channels, layout: layout)
                let conv2 = Conv2d(block.named("conv2"), inputChannels: channels, outputChannels: channels, kernelSize: 3,
                                   stride: 1, padding: 1, bias: true, initialization: initialization, layout: layout)
                // BN → σ → conv fused: one saved tensor per pair instead of two (see NormActConv).
                // Every RK stage normalises its own input with batch statistics in training, so
                // each stage keeps its own running statistics (`….bn1.stage1.running_mean`) for
                // inference; the parameters (γ, β, convolutions) are shared — the same F.
                let stageLayers: [[Layer]] = (0..<tableau.stages).map { i in
                    let norms = i == 0 ? [bn1, bn2] : [bn1, bn2].enumerated().map { k, bn in
                        bn.stageCopy(block.named("bn\(k + 1)").stage(i), layout: layout)
                    }
                    let convs = i == 0 ? [conv1, conv2] : [conv1.freshCopy() as! Conv2d, conv2.freshCopy() as! Conv2d]
                    return [NormActConv(norm: norms[0], activation: spec.activation, conv: convs[0]),
                            NormActConv(norm: norms[1], activation: spec.activation, conv: convs[1])]
                }
                nodes.append(.block(ResidualBlock(stageLayers: stageLayers, tableau: tableau, h: Float(spec.h))))
                let convFlops = conv1.forwardFlopsPerSample(height: height, width: width)
                flops.forward += stages * 2 * convFlops
                flops.backward += stages * 4 * convFlops
            }
            segments.append(Segment(nodes: nodes, parameterRange: start..<layout.parameterCount))
        }
        let start = layout.parameterCount
        let features = spec.head == .flatten ? channels * height * width : channels
        let head = Linear("head", inputFeatures: features, outputFeatures: spec.outputs, initialization: initialization, layout: layout)
        flops.forward += head.forwardFlopsPerSample
        flops.backward += 2 * head.forwardFlopsPerSample
        let reduce: Layer = spec.head == .flatten ? Flatten() : GlobalAveragePool()
        segments.append(Segment(nodes: [.layer(reduce), .layer(head)], parameterRange: start..<layout.parameterCount))
        return segments
    }

    /// Runs `body` with raw pointers to the three buffers (no other access may happen inside).
    private func withBuffers<R>(_ body: (LayerBuffers) throws -> R) rethrows -> R {
        try parameters.withUnsafeMutableBufferPointer { p in
            try gradients.withUnsafeMutableBufferPointer { g in
                try state.withUnsafeMutableBufferPointer { s in
                    // Empty arrays may have no base address; layers never touch them then.
                    let dummy = UnsafeMutablePointer<Float>(bitPattern: 16)!
                    return try body(LayerBuffers(parameters: p.baseAddress ?? dummy, gradients: g.baseAddress ?? dummy,
                                                 state: s.baseAddress ?? dummy, reducer: batchNormReducer,
                                                 statisticsMomentum: statisticsMomentum, execution: execution))
                }
            }
        }
    }

    /// Forward pass. Input is [N, features] (MLP) or [N, C, H, W] (CNN); output is [N, outputs].
    /// In training mode every layer saves what its backward needs and BatchNorm uses batch
    /// statistics (and updates the running ones); in inference mode nothing is saved.
    public func forward(_ input: Tensor, training: Bool) throws -> Tensor {
        guard input.rank == spec.inputShape.count + 1, Array(input.shape.dropFirst()) == spec.inputShape else {
            throw ResNetCoreError.shapeMismatch("model expects [N] + \(spec.inputShape), got \(input.shape)")
        }
        return try withBuffers { buffers in
            // The caller keeps the input: the first layer only reads it; every later layer owns
            // the output of the one before.
            var x = input
            var owned = false
            for segment in segments {
                for node in segment.nodes {
                    switch node {
                    case .layer(let layer):
                        x = owned ? try layer.forward(owned: consume x, training: training, buffers: buffers)
                                  : try layer.forward(x, training: training, buffers: buffers)
                    case .block(let block): x = try block.forward(x, training: training, buffers: buffers)
                    }
                    owned = true
                }
            }
            return x
        }
    }

    /// Backward pass after a training forward: *accumulates* into `gradients`.
    public func backward(_ outputGradient: Tensor) throws {
        try backward(outputGradient, finish: {})
    }

    /// Backward with the gradient buffer held for the whole pass, so that finished parts may be
    /// handed to non-blocking communication soundly: `onGradientsReady` receives each finished
    /// segment's gradients (head, each residual group from the last, stem: disjoint, adjacent and
    /// descending, together a growing suffix) as a buffer valid until `finish` returns; `finish`
    /// runs after backward — also when backward throws — still inside the access (e.g. to wait
    /// for that communication). Neither closure may touch `gradients` itself.
    public func backward<R>(_ outputGradient: Tensor,
                            onGradientsReady: (UnsafeMutableBufferPointer<Float>) throws -> Void = { _ in },
                            finish: () throws -> R) throws -> R {
        let count = gradients.count   // read before the buffers are held (exclusive access)
        return try withBuffers { buffers in
            let all = UnsafeMutableBufferPointer(start: buffers.gradients, count: count)
            var failure: Error?
            do {
                var g = outputGradient
                for segment in segments.reversed() {
                    for node in segment.nodes.reversed() {
                        switch node {
                        case .layer(let layer): g = try layer.backward(consume g, buffers: buffers)
                        case .block(let block): g = try block.backward(consume g, buffers: buffers)
                        }
                    }
                    if !segment.parameterRange.isEmpty {
                        try onGradientsReady(UnsafeMutableBufferPointer(rebasing: all[segment.parameterRange]))
                    }
                }
            } catch { failure = error }
            let result = try finish()
            if let failure { throw failure }
            return result
        }
    }

    /// Precise BatchNorm: forgets the running statistics and sets them to the plain average of
    /// the batch statistics of `batches` training-mode forwards with the current weights (each
    /// stage of a Runge–Kutta block averages its own). `forward(k)` runs the k-th forward.
    public func reestimateBatchNormStatistics(batches: Int, forward: (Int) throws -> Void) rethrows {
        guard batches > 0, !state.isEmpty else { return }
        for i in state.indices { state[i] = 0 }
        defer { statisticsMomentum = nil }
        for k in 0..<batches {
            statisticsMomentum = 1 / Float(k + 1)
            try forward(k)
        }
    }

    public func zeroGradients() {
        gradients.withUnsafeMutableBufferPointer { g in
            for i in 0..<g.count { g[i] = 0 }
        }
    }

    /// FLOPs of one forward + backward per sample (GEMM work only; element-wise passes excluded).
    public func flopsPerSample() -> Double { forwardFlops + backwardFlops }
    public func forwardFlopsPerSample() -> Double { forwardFlops }

    public func slot(named name: String) -> ParameterSlot? { slots.first { $0.name == name } }
    public func stateSlot(named name: String) -> ParameterSlot? { stateSlots.first { $0.name == name } }

    /// The values of one named parameter (a copy).
    public func parameter(named name: String) -> [Float]? {
        slot(named: name).map { Array(parameters[$0.range]) }
    }

    /// Bit-level fingerprint of the parameters and state, for ranks to compare.
    public func checksum() -> UInt64 {
        func fingerprint(_ values: [Float]) -> UInt64 {
            var hash = FNV1a64()
            values.withUnsafeBufferPointer { hash.update(bitPatternsOf: $0) }
            return hash.value
        }
        return fingerprint(parameters) ^ (fingerprint(state) &* 31)
    }
}
