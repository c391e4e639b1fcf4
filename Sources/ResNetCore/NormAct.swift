/// BatchNorm → σ as one layer: the stem of every residual group (after its projection
/// convolution). It keeps only the normalised input x̂ — in the precision of
/// `ExecutionOptions.savedActivations`, half by default — and recomputes σ(γ·x̂ + β) in backward,
/// where the unfused pair kept x̂ and σ's output, both in Float (four times the memory).
///
/// Parameters and state are the wrapped `BatchNorm`'s, so the model layout is unchanged.
public final class NormAct: Layer {
    public let norm: BatchNorm
    public let activation: Activation

    private var saved: SavedNormalized?

    public init(norm: BatchNorm, activation: Activation) {
        self.norm = norm
        self.activation = activation
    }

    public func freshCopy() -> Layer { NormAct(norm: norm.freshCopy() as! BatchNorm, activation: activation) }

    private func plane(of shape: [Int]) throws -> Int {
        guard shape.count >= 2, shape[1] == norm.channels else {
            throw ResNetCoreError.shapeMismatch("NormAct(\(norm.channels)) got \(shape)")
        }
        return shape.dropFirst(2).reduce(1, *)
    }

    public func forward(_ input: Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        _ = try plane(of: input.shape)
        var output = Tensor(uninitializedShape: input.shape)
        try input.data.withUnsafeBufferPointer { x in
            try output.data.withUnsafeMutableBufferPointer { y in
                try run(x.baseAddress!, into: y.baseAddress!, shape: input.shape, training: training, buffers: buffers)
            }
        }
        return output
    }

    /// Element-wise, so the output is written over the input it owns.
    public func forward(owned input: consuming Tensor, training: Bool, buffers: LayerBuffers) throws -> Tensor {
        _ = try plane(of: input.shape)
        var tensor = consume input
        let shape = tensor.shape
        try tensor.data.withUnsafeMutableBufferPointer { x in
            try run(x.baseAddress!, into: x.baseAddress!, shape: shape, training: training, buffers: buffers)
        }
        return tensor
    }

    /// The forward pass from `x` into `y` (which may be `x`: each element is read before it is written).
    private func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, shape: [Int], training: Bool,
                     buffers: LayerBuffers) throws {
        let plane = try plane(of: shape)
        let n = shape[0], c = norm.channels, image = c * plane
        let (mean, inverseStd, count) = try norm.statistics(x, batch: n, plane: plane, training: training, buffers: buffers)
        let store = training ? SavedNormalized(shape: shape, image: image, storage: buffers.execution.savedActivations,
                                               inverseStd: inverseStd, count: count) : nil
        for s in 0..<n {
            FusedElementwise.normalizeAndActivate(x + s * image, channels: c, plane: plane, mean: mean,
                                                  inverseStd: inverseStd, norm: norm, activation: activation,
                                                  buffers: buffers, keep: store?.normalized(s), into: y + s * image)
        }
        saved = store
    }

    public func backward(_ outputGradient: consuming Tensor, buffers: LayerBuffers) throws -> Tensor {
        guard let saved else { throw ResNetCoreError.backwardWithoutForward("NormAct") }
        guard outputGradient.shape == saved.shape else {
            throw ResNetCoreError.shapeMismatch("NormAct gradient \(outputGradient.shape), expected \(saved.shape)")
        }
        let plane = try plane(of: saved.shape)
        let n = saved.shape[0], c = norm.channels, image = c * plane
        let activated = ScratchBuffer(image)
        // Per-channel Σdz and Σdz·x̂, dz = dL/d(γx̂+β). dz and then dx are element-wise in dy:
        // formed in its storage, which this layer owns.
        var sums = [Double](repeating: 0, count: 2 * c)
        var inputGradient = consume outputGradient
        inputGradient.data.withUnsafeMutableBufferPointer { dy in
            for s in 0..<n {
                let xhat = saved.normalized(s)
                FusedElementwise.activate(xhat, channels: c, plane: plane, norm: norm, activation: activation,
                                          buffers: buffers, into: activated.pointer)
                FusedElementwise.activationBackward(activated: activated.pointer, gradient: dy.baseAddress! + s * image,
                                                    into: dy.baseAddress! + s * image, xhat: xhat, channels: c,
                                                    plane: plane, activation: activation, sums: &sums)
            }
        }
        try saved.finishInputGradient(&inputGradient, sums: &sums, norm: norm, buffers: buffers)
        self.saved = nil
        return inputGradient
    }
}

/// The normalised input x̂ a layer keeps from forward to backward, image by image, in Float or
/// in half precision (see `HalfPrecision`), with the batch statistics backward needs.
final class SavedNormalized {
    let shape: [Int]
    let image: Int
    let inverseStd: [Float]
    let count: Double
    let storage: HalfPrecision.Storage
    private let bytes: UnsafeMutableRawPointer

    init(shape: [Int], image: Int, storage: HalfPrecision.Storage, inverseStd: [Float], count: Double) {
        self.shape = shape
        self.image = image
        self.inverseStd = inverseStd
        self.count = count
        self.storage = storage
        let total = max(shape.reduce(1, *), 1)
        bytes = storage == .half
            ? UnsafeMutableRawPointer(UnsafeMutablePointer<UInt16>.allocate(capacity: total))
            : UnsafeMutableRawPointer(UnsafeMutablePointer<Float>.allocate(capacity: total))
    }

    deinit { bytes.deallocate() }

    /// Where image `s`'s x̂ is kept: the fused passes write it there in forward and read it in
    /// backward (`FusedElementwise.Normalized`).
    func normalized(_ s: Int) -> FusedElementwise.Normalized {
        switch storage {
        case .half: .half(bytes.assumingMemoryBound(to: UInt16.self) + s * image)
        case .single: .single(bytes.assumingMemoryBound(to: Float.self) + s * image)
        }
    }

    /// The BatchNorm input gradient over the whole batch, in place: dz (dL/d(γx̂+β), N×C×plane)
    /// becomes dx = γ/σ · (dz − mean(dz) − x̂·mean(dz·x̂)) per channel, from the per-channel
    /// sums Σdz, Σdz·x̂ (reduced across ranks by `norm` when it is synchronised).
    func finishInputGradient(_ dz: inout Tensor, sums: inout [Double], norm: BatchNorm,
                             buffers: LayerBuffers) throws {
        let coefficients = try norm.gradientCoefficients(&sums, inverseStd: inverseStd, count: count, buffers: buffers)
        let channels = shape[1], plane = image / channels
        let flat = coefficients.flatMap { [$0.scale, $0.meanDy, $0.meanDyX] }
        dz.data.withUnsafeMutableBufferPointer { dz in
            for s in 0..<shape[0] {
                FusedElementwise.inputGradient(dz.baseAddress! + s * image, xhat: normalized(s), coefficients: flat,
                                               channels: channels, plane: plane)
            }
        }
    }
}
